import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { afterAll, describe, expect, it } from "vitest";
import { openDecoderSession } from "../../../src/generation/decoder-load/decoder-session.js";
import { runDecoderStep } from "../../../src/generation/engine/decoder-step.js";
import { KvCache } from "../../../src/generation/engine/kv-cache.js";
import { appendKvCachePath } from "../../../src/generation/kv-rewrite/append-kv-cache.js";
import { rewriteForAppendKv } from "../../../src/generation/kv-rewrite/append-kv-rewrite.js";
import { loadGenerationConfig } from "../../../src/generation/request/generation-config.js";
import { maxAbsDiff } from "../../fixtures/ort-helpers.js";
import { withExternalData } from "../../helpers/external-data.js";
import { FIXTURE_REPO } from "../../helpers/fixtures.js";

const { onnx } = onnxProto;
const DIR = join(FIXTURE_REPO, "tiny_llama/1");
const PATH = join(DIR, "model.onnx");
const OPTIONS = { intraOpThreads: 1 };

/** `model` with Shape(present.0.key) as one more output: something besides attention reads the full cache. */
function withCacheReader(model: Uint8Array): Uint8Array {
  const proto = onnx.ModelProto.decode(model);
  const graph = proto.graph ?? onnx.GraphProto.create();
  graph.node = [
    ...(graph.node ?? []),
    onnx.NodeProto.create({ opType: "Shape", input: ["present.0.key"], output: ["cache_shape"] }),
  ];
  graph.output = [
    ...(graph.output ?? []),
    onnx.ValueInfoProto.create({ name: "cache_shape", type: { tensorType: { elemType: 7 } } }),
  ];
  return onnx.ModelProto.encode(proto).finish();
}

/** The first-step logits of a 2-token prompt through a decoder session. */
async function firstLogits(path: string, kvCache: "append" | "concat") {
  const { session, signature, kvCacheNote } = await openDecoderSession(
    path,
    OPTIONS,
    await loadGenerationConfig(DIR),
    kvCache,
  );
  const step = await runDecoderStep(session, KvCache.empty(signature, 1), [[1, 7]]);
  await session.release();
  return {
    kvCache: signature.kvCache,
    note: kvCacheNote,
    logits: step.logits[0] ?? new Float32Array(),
  };
}

describe("openDecoderSession on the tiny_llama fixture", () => {
  const temp = mkdtempSync(join(tmpdir(), "inferd-decoder-session-"));
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it("serves the rewritten graph by default, the export with kv_cache concat", async () => {
    const [append, concat] = [await firstLogits(PATH, "append"), await firstLogits(PATH, "concat")];
    expect([append.kvCache, concat.kvCache]).toEqual(["append", "concat"]);
    expect(maxAbsDiff(append.logits, concat.logits)).toBeLessThan(1e-5);
  });

  it("rewrites a model whose weights are external data, leaving only the cached rewrite behind", async () => {
    const model = withExternalData(readFileSync(PATH), temp, "weights/model.onnx_data");
    writeFileSync(join(temp, "model.onnx"), model);
    expect(rewriteForAppendKv(model)?.externalDataFiles).toEqual(["weights/model.onnx_data"]);
    const append = await firstLogits(join(temp, "model.onnx"), "append");
    const concat = await firstLogits(PATH, "concat");
    expect(append.kvCache).toBe("append");
    expect(maxAbsDiff(append.logits, concat.logits)).toBeLessThan(1e-5);
    // Only the rewrite that passed the check stays (append-kv-cache.ts), no staging copy.
    const left = readdirSync(temp).sort();
    expect(left.filter((f) => !/^\.inferd-append-kv-[0-9a-f]{32}\.onnx$/.test(f))).toEqual([
      "model.onnx",
      "weights",
    ]);
    expect(left).toHaveLength(3);
  });

  it("caches a rewrite that passed the check, and a later load serves it from that file", async () => {
    const dir = join(temp, "cached");
    mkdirSync(dir);
    writeFileSync(join(dir, "model.onnx"), readFileSync(PATH));
    const rewritten = rewriteForAppendKv(readFileSync(PATH))?.bytes ?? new Uint8Array();
    const cached = await appendKvCachePath(join(dir, "model.onnx"), "{}");
    expect(existsSync(cached)).toBe(false);
    const first = await firstLogits(join(dir, "model.onnx"), "append");
    expect(Buffer.compare(readFileSync(cached), rewritten)).toBe(0);
    const second = await firstLogits(join(dir, "model.onnx"), "append");
    expect([first.kvCache, second.kvCache]).toEqual(["append", "append"]);
    expect(maxAbsDiff(first.logits, second.logits)).toBe(0);
    // A damaged cache is opened, refused by ORT, dropped, and replaced the long way.
    writeFileSync(cached, "not a model");
    const third = await firstLogits(join(dir, "model.onnx"), "append");
    expect(third.kvCache).toBe("append");
    expect(maxAbsDiff(first.logits, third.logits)).toBe(0);
    expect(Buffer.compare(readFileSync(cached), rewritten)).toBe(0);
    rmSync(dir, { recursive: true });
  });

  // With external data, a thread starts recording the check's reference before the
  // rewrite is tried; it is then not needed, and the load still ends after it.
  it.each([
    ["in the graph file", false],
    ["in external data", true],
  ])(
    "serves a graph the rewrite does not know as exported, and says why (weights %s)",
    async (_, external) => {
      const dir = join(temp, external ? "reader-external" : "reader");
      mkdirSync(dir);
      const reader = withCacheReader(readFileSync(PATH));
      const model = external ? withExternalData(reader, dir, "model.onnx_data") : reader;
      writeFileSync(join(dir, "model.onnx"), model);
      const served = await firstLogits(join(dir, "model.onnx"), "append");
      expect(served.kvCache).toBe("concat");
      expect(served.note).toBe("the graph does not grow its cache in the form the rewrite knows");
      const concat = await firstLogits(PATH, "concat");
      expect(concat.note).toBe("");
      expect(maxAbsDiff(served.logits, concat.logits)).toBeLessThan(1e-5);
      rmSync(dir, { recursive: true });
    },
  );

  it("refuses external data that would resolve outside the model's folder", () => {
    const model = withExternalData(readFileSync(PATH), join(temp, "x", "inner"), "../outside.bin");
    expect(() => rewriteForAppendKv(model)).toThrow(/outside the model's folder/);
  });
});
