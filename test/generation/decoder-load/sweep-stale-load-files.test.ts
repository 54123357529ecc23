import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweepStaleLoadFiles } from "../../../src/generation/decoder-load/sweep-stale-load-files.js";

// Above Linux's largest pid_max (2^22): no process can have it.
const DEAD_PID = 4_194_305;
const UUID = "0123abcd-4567-89ab-cdef-0123456789ab";

describe("sweepStaleLoadFiles", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "inferd-sweep-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("removes a dead process's staged and edited graphs, keeps live ones, the cache and the model", async () => {
    const names = [
      `.inferd-staged-${DEAD_PID}-${UUID}.onnx`,
      `.inferd-edited-${DEAD_PID}-${UUID}.onnx`,
      `.inferd-staged-${process.pid}-${UUID}.onnx`,
      ".inferd-append-kv-0123456789abcdef0123456789abcdef.onnx",
      "model.onnx",
      `.inferd-staged-${DEAD_PID}-not-a-uuid.onnx`,
    ];
    for (const name of names) await writeFile(join(dir, name), "x");
    await sweepStaleLoadFiles(join(dir, "model.onnx"));
    expect((await readdir(dir)).sort()).toEqual(names.slice(2).sort());
  });

  it("does not throw for a folder that does not exist", async () => {
    await expect(sweepStaleLoadFiles(join(dir, "gone", "model.onnx"))).resolves.toBeUndefined();
  });
});
