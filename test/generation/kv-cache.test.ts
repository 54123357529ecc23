import { describe, expect, it } from "vitest";
import type { DecoderSignature } from "../../src/generation/decoder-signature.js";
import { runDecoderStep } from "../../src/generation/decoder-step.js";
import { KvCache } from "../../src/generation/kv-cache.js";
import type { HostTensor } from "../../src/tensor/host-tensor.js";

const sig: DecoderSignature = {
  numLayers: 2,
  numKvHeads: 2,
  headDim: 1,
  vocabSize: 3,
  hasPositionIds: true,
};

/**
 * A fake decoder: each new slot's key/value is 100*position + token (so padding
 * and placement are visible), logits are [position, token, 0] of the last slot.
 * It records the feeds it saw.
 */
function fakeRunner() {
  const seen: Record<string, HostTensor>[] = [];
  return {
    seen,
    async run(feeds: Record<string, HostTensor>) {
      seen.push(feeds);
      const ids = feeds.input_ids as HostTensor;
      const [rows = 0, n = 0] = ids.dims;
      const past = feeds["past_key_values.0.key"] as HostTensor;
      const pastLen = past.dims[2] ?? 0;
      const total = pastLen + n;
      const out: Record<string, HostTensor> = {};
      const tokens = ids.data as BigInt64Array;
      const positions = (feeds.position_ids as HostTensor).data as BigInt64Array;
      const logits = new Float32Array(rows * n * 3);
      for (let l = 0; l < 2; l++) {
        for (const kind of ["key", "value"]) {
          const old = (feeds[`past_key_values.${l}.${kind}`] as HostTensor).data as Float32Array;
          const data = new Float32Array(rows * 2 * total);
          for (let r = 0; r < rows; r++) {
            for (let h = 0; h < 2; h++) {
              data.set(
                old.subarray((r * 2 + h) * pastLen, (r * 2 + h + 1) * pastLen),
                (r * 2 + h) * total,
              );
              for (let j = 0; j < n; j++) {
                data[(r * 2 + h) * total + pastLen + j] =
                  100 * Number(positions[r * n + j]) + Number(tokens[r * n + j]);
              }
            }
          }
          out[`present.${l}.${kind}`] = { dtype: "float32", dims: [rows, 2, total, 1], data };
        }
      }
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < n; j++) {
          logits.set([Number(positions[r * n + j]), Number(tokens[r * n + j]), 0], (r * n + j) * 3);
        }
      }
      out.logits = { dtype: "float32", dims: [rows, n, 3], data: logits };
      return out;
    },
  };
}

/** The int64 values of a fed tensor as numbers. */
const ints = (tensor: HostTensor | undefined): number[] => {
  if (tensor === undefined) throw new Error("tensor was not fed");
  return [...(tensor.data as BigInt64Array)].map(Number);
};

const row = (cache: KvCache, r: number) => {
  const feeds = cache.pastFeeds();
  const data = (feeds["past_key_values.1.value"] as HostTensor).data as Float32Array;
  return [...data.subarray(r * 2 * cache.length, r * 2 * cache.length + cache.length)];
};

describe("KvCache and runDecoderStep", () => {
  it("left-pads a batched prefill with positions = cumsum(mask) - 1", async () => {
    const runner = fakeRunner();
    const { logits, cache } = await runDecoderStep(runner, KvCache.empty(sig, 2), [[5, 6, 7], [8]]);
    const mask = ints(runner.seen[0]?.attention_mask);
    expect(mask).toEqual([1, 1, 1, 0, 0, 1]);
    expect(ints(runner.seen[0]?.position_ids)).toEqual([0, 1, 2, 0, 0, 0]);
    expect(logits.map((l) => [...l])).toEqual([
      [2, 7, 0],
      [0, 8, 0],
    ]);
    expect(row(cache, 0)).toEqual([5, 106, 207]);
    expect(row(cache, 1)[2]).toBe(8);
  });

  it("merges newcomers with left padding and trims padding when rows leave", async () => {
    const runner = fakeRunner();
    let a = (await runDecoderStep(runner, KvCache.empty(sig, 1), [[5, 6, 7, 4]])).cache;
    const b = (await runDecoderStep(runner, KvCache.empty(sig, 1), [[8, 9]])).cache;
    a = a.concat(b);
    expect(a.length).toBe(4);
    expect(a.mask.map((m) => [...m])).toEqual([
      [1, 1, 1, 1],
      [0, 0, 1, 1],
    ]);
    expect(row(a, 1)).toEqual([0, 0, 8, 109]);
    const step = await runDecoderStep(runner, a, [[1], [2]]);
    // The short row continues at its own position 2, not at the batch length.
    expect(step.logits.map((l) => l[0])).toEqual([4, 2]);
    const left = step.cache.select([1]);
    expect(left.length).toBe(3);
    expect(row(left, 0)).toEqual([8, 109, 202]);
    expect([...(left.mask[0] ?? [])]).toEqual([1, 1, 1]);
  });
});
