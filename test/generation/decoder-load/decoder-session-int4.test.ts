import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SMOLLM_135M_SHAPE } from "../../../scripts/fixtures/llama-decoder-shapes.js";
import { writeLlmFixture } from "../../../scripts/fixtures/llm-fixture.js";
import { readDecoderSignature } from "../../../src/generation/engine/decoder-signature.js";
import { appendKvMatches } from "../../../src/generation/kv-rewrite/append-kv-check.js";
import { rewriteForAppendKv } from "../../../src/generation/kv-rewrite/append-kv-rewrite.js";
import { loadGenerativeModel } from "../../../src/generation/load-generative-model.js";
import { loadGenerationConfig } from "../../../src/generation/request/generation-config.js";
import { setMatMulNBitsAccuracyLevel } from "../../../src/onnx/matmul-nbits-accuracy.js";
import { intAttribute, OnnxGraph } from "../../../src/onnx/onnx-graph.js";
import { quantizeModelFile } from "../../../src/onnx/quantize/quantize-model-file.js";
import { createInProcessSession } from "../../../src/runtime/in-process-session.js";
import { collectGeneration } from "../../helpers/collect-generation.js";

/**
 * Deep enough that at accuracy_level 4 the rewrite's reordered float32 sums flip int8
 * roundings of the activations that then grow through the layers (measured: the
 * level-4 graphs' logits need 0.1 to match, level 0's 1e-5), small enough for CI
 * (10 MB fp32, 2.5 MB int4, written and quantized in about 2 s).
 */
const DEEP = {
  ...SMOLLM_135M_SHAPE,
  ...{ numLayers: 8, hidden: 192, numHeads: 3, intermediate: 256 },
  ...{ vocabSize: 512, maxPositions: 1024 },
};

const atLevel = (bytes: Uint8Array, level: number) => {
  const graph = OnnxGraph.decode(bytes);
  setMatMulNBitsAccuracyLevel(graph, level);
  return graph.finish();
};

const levels = (bytes: Uint8Array) =>
  OnnxGraph.decode(bytes)
    .nodes.filter((n) => n.opType === "MatMulNBits")
    .map((n) => intAttribute(n, "accuracy_level"));

describe("openDecoderSession on an int4 export at accuracy_level 4 (8 layers)", () => {
  const temp = mkdtempSync(join(tmpdir(), "inferd-int4-append-"));
  const dir = join(temp, "q4", "1");
  const path = join(dir, "model.onnx");
  afterAll(() => rmSync(temp, { recursive: true, force: true }));
  beforeAll(async () => {
    const fp32 = await writeLlmFixture(temp, "deep", DEEP);
    cpSync(fp32.dir, dir, { recursive: true, filter: (f) => !f.includes("model.onnx") });
    quantizeModelFile(join(fp32.dir, "model.onnx"), path, { method: "int4", accuracyLevel: 4 });
  });

  it("has graphs whose own check fails at level 4 and passes at level 0", async () => {
    const config = await loadGenerationConfig(dir);
    const verdicts = [];
    for (const level of [4, 0]) {
      const bytes = atLevel(readFileSync(path), level);
      const original = await createInProcessSession(path, { intraOpThreads: 1 }, bytes);
      const rewritten = rewriteForAppendKv(bytes)?.bytes ?? new Uint8Array();
      const candidate = await createInProcessSession(path, { intraOpThreads: 1 }, rewritten);
      const sig = readDecoderSignature(original.inputs, original.outputs, config);
      verdicts.push(await appendKvMatches(original, candidate, sig));
      await Promise.all([original.release(), candidate.release()]);
    }
    expect(verdicts).toEqual([false, true]);
  });

  it("serves the rewrite at level 4 once it passed the check at level 0, and generates", async () => {
    const load = (kvCache: "append" | "concat") =>
      loadGenerativeModel({
        ...{ dir, modelPath: path, kvCache, maxConcurrentSequences: 2, maxWaiting: 0 },
        matmulNBitsAccuracyLevel: 4,
      });
    const model = await load("append");
    try {
      expect({ kvCache: model.kvCache, note: model.kvCacheNote }).toEqual({
        kvCache: "append",
        note: "",
      });
      const run = await collectGeneration(
        model.generate(
          { promptTokenIds: [1, 40, 41, 42], temperature: 0, maxTokens: 16, ignoreEos: true },
          new AbortController().signal,
        ),
      );
      expect(run.ids).toHaveLength(16);
      expect(run.ids.every((id) => id >= 0 && id < DEEP.vocabSize)).toBe(true);
    } finally {
      await model.dispose();
    }
    // What was cached and served is the rewrite at the configured level, not the check's copy.
    const cached = readdirSync(dir).filter((f) => f.startsWith(".inferd-append-kv-"));
    expect(cached).toHaveLength(1);
    const served = levels(readFileSync(join(dir, cached[0] ?? "")));
    expect(served.length).toBeGreaterThan(0);
    expect(new Set(served)).toEqual(new Set([4]));
  });
});
