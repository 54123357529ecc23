import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  appendKvVerdictPath,
  hasAppendKvVerdict,
  recordAppendKvVerdict,
} from "../../../src/generation/kv-rewrite/append-kv-verdict.js";

describe("append-KV verdicts", () => {
  const temp = mkdtempSync(join(tmpdir(), "inferd-verdict-"));
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it("names a hidden file beside the model after the SHA-256 of the rewritten bytes", () => {
    const path = appendKvVerdictPath(join(temp, "model.onnx"), new TextEncoder().encode("abc"));
    // sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
    expect(path).toBe(join(temp, ".inferd-append-kv-ba7816bf8f01cfea414140de5dae2223.ok"));
    expect(appendKvVerdictPath(join(temp, "model.onnx"), new Uint8Array([1]))).not.toBe(path);
  });

  it("is absent until recorded", async () => {
    const path = appendKvVerdictPath(join(temp, "model.onnx"), new Uint8Array([7]));
    expect(await hasAppendKvVerdict(path)).toBe(false);
    await recordAppendKvVerdict(path);
    expect(await hasAppendKvVerdict(path)).toBe(true);
  });

  it("records nothing, without failing, in a folder it cannot write", async () => {
    const dir = mkdtempSync(join(temp, "ro-"));
    chmodSync(dir, 0o500);
    const path = appendKvVerdictPath(join(dir, "model.onnx"), new Uint8Array([9]));
    await expect(recordAppendKvVerdict(path)).resolves.toBeUndefined();
    // root ignores the mode bits: only check the outcome is consistent with the folder.
    expect(await hasAppendKvVerdict(path)).toBe(readdirSync(dir).length === 1);
    chmodSync(dir, 0o700);
  });
});
