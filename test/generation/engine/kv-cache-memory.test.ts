import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readDecoderSignature } from "../../../src/generation/engine/decoder-signature.js";
import { KvCache } from "../../../src/generation/engine/kv-cache.js";
import {
  checkKvCacheBudget,
  kvCacheBytesPerToken,
  kvCacheSlots,
} from "../../../src/generation/engine/kv-cache-memory.js";
import { loadGenerationConfig } from "../../../src/generation/request/generation-config.js";
import { createInProcessSession } from "../../../src/runtime/in-process-session.js";
import { FIXTURE_REPO } from "../../helpers/fixtures.js";

const DIR = join(FIXTURE_REPO, "tiny_llama/1");

describe("kvCacheBytesPerToken", () => {
  it("is 2 x layers x KV heads x head size x 4 bytes on the tiny_llama fixture's signature", async () => {
    const json = JSON.parse(await readFile(join(DIR, "config.json"), "utf8"));
    const expected = 2 * json.num_hidden_layers * json.num_key_value_heads * json.head_dim * 4;
    expect(expected).toBe(256);
    const session = await createInProcessSession(join(DIR, "model.onnx"));
    try {
      const sig = readDecoderSignature(
        session.inputs,
        session.outputs,
        await loadGenerationConfig(DIR),
      );
      expect(kvCacheBytesPerToken(sig, session.inputs)).toBe(expected);
      // A float16 cache takes half.
      const fp16 = session.inputs.map((s) => ({ ...s, dtype: "float16" as const }));
      expect(kvCacheBytesPerToken(sig, fp16)).toBe(expected / 2);
    } finally {
      await session.release();
    }
  });
});

describe("kvCacheSlots", () => {
  const sig = { numLayers: 2, numKvHeads: 2, headDim: 4, vocabSize: 5, hasPositionIds: true };

  it("counts no used token in an empty cache, and the spare slot an appending cache holds", () => {
    expect(kvCacheSlots(KvCache.empty({ ...sig, kvCache: "concat" }, 3))).toEqual({
      usedTokens: 0,
      reservedTokens: 0,
    });
    expect(kvCacheSlots(KvCache.empty({ ...sig, kvCache: "append" }, 3))).toEqual({
      usedTokens: 0,
      reservedTokens: 3,
    });
  });
});

describe("checkKvCacheBudget", () => {
  const budget = {
    what: 'model "m"',
    maxConcurrentSequences: 4,
    contextWindow: 256,
    bytesPerToken: 256,
    budgetSource: "model.json kv_cache_memory_bytes",
  };

  it("returns the full cache's bytes when they fit, up to the budget exactly", () => {
    expect(checkKvCacheBudget({ ...budget, budgetBytes: 4 * 256 * 256 })).toBe(262_144);
  });

  it("refuses one byte less with failed_precondition naming the numbers and the fixes", () => {
    expect(() => checkKvCacheBudget({ ...budget, budgetBytes: 262_143 })).toThrow(
      expect.objectContaining({
        kind: "failed_precondition",
        message:
          'model "m": a full KV cache takes 262144 bytes (max_concurrent_sequences 4 × context window 256 tokens × 256 bytes per token), more than its budget of 262143 bytes (model.json kv_cache_memory_bytes); lower max_concurrent_sequences in model.json or the context window (config.json max_position_embeddings), or raise kv_cache_memory_bytes',
      }),
    );
  });
});
