import { describe, expect, it } from "vitest";
import type { DecoderSignature } from "../../../src/generation/engine/decoder-signature.js";
import { runDecoderStep } from "../../../src/generation/engine/decoder-step.js";
import { KvCache } from "../../../src/generation/engine/kv-cache.js";
import type { HostTensor } from "../../../src/tensor/host-tensor.js";

const concatSig: DecoderSignature = {
  numLayers: 2,
  numKvHeads: 2,
  headDim: 1,
  vocabSize: 3,
  hasPositionIds: true,
  kvCache: "concat",
};

/**
 * A fake decoder: each new slot's key/value is 100*position + token (so padding
 * and placement are visible), logits are [position, token, 0] of the last slot.
 * Its present.* are past + new slots ("concat", as exports do) or the new slots
 * only ("append", as rewritten graphs do). It records the feeds it saw.
 */
function fakeRunnerOf(mode: "concat" | "append") {
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
          const [kept, slots] = mode === "concat" ? [pastLen, total] : [0, n];
          const data = new Float32Array(rows * 2 * slots);
          for (let r = 0; r < rows; r++) {
            for (let h = 0; h < 2; h++) {
              const rh = r * 2 + h;
              data.set(old.subarray(rh * pastLen, rh * pastLen + kept), rh * slots);
              for (let j = 0; j < n; j++) {
                data[rh * slots + kept + j] =
                  100 * Number(positions[r * n + j]) + Number(tokens[r * n + j]);
              }
            }
          }
          out[`present.${l}.${kind}`] = { dtype: "float32", dims: [rows, 2, slots, 1], data };
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

/** Row `r`'s used slots of layer 1's values, head 0 (buffers hold `capacity` slots per row). */
const row = (cache: KvCache, r: number) => {
  const feeds = cache.pastFeeds();
  const data = (feeds["past_key_values.1.value"] as HostTensor).data as Float32Array;
  return [...data.subarray(r * 2 * cache.capacity, r * 2 * cache.capacity + cache.length)];
};

describe.each(["concat", "append"] as const)("KvCache and runDecoderStep (%s)", (mode) => {
  const sig: DecoderSignature = { ...concatSig, kvCache: mode };
  const fakeRunner = () => fakeRunnerOf(mode);

  it("left-pads a batched prefill with positions = cumsum(mask) - 1", async () => {
    const runner = fakeRunner();
    const { logits, cache } = await runDecoderStep(runner, KvCache.empty(sig, 2), [[5, 6, 7], [8]]);
    const mask = ints(runner.seen[0]?.attention_mask);
    // An empty appending cache already has a spare slot, masked.
    const spare: number[] = new Array(mode === "append" ? 1 : 0).fill(0);
    expect(mask).toEqual([...spare, 1, 1, 1, ...spare, 0, 0, 1]);
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

describe("KvCache appending (a rewritten graph's present.* hold only the new slots)", () => {
  const sig: DecoderSignature = { ...concatSig, kvCache: "append" };

  it("feeds spare capacity masked, writes each step in place and grows past the capacity", async () => {
    const runner = fakeRunnerOf("append");
    let cache = (await runDecoderStep(runner, KvCache.empty(sig, 2), [[5, 6], [7]])).cache;
    // The prefill's 2 slots did not fit the empty cache's 1: 2 + 8 spare.
    expect([cache.length, cache.capacity]).toEqual([2, 10]);
    const buffer = (cache.pastFeeds()["past_key_values.0.key"] as HostTensor).data;
    const step = await runDecoderStep(runner, cache, [[1], [2]]);
    // Past = all 10 buffered slots: 2 used (row 1 left-padded), 8 spare (0), then the new slot.
    const fed = runner.seen[1];
    expect(fed?.["past_key_values.0.key"]?.dims).toEqual([2, 2, 10, 1]);
    const spare = new Array(8).fill(0);
    expect(ints(fed?.attention_mask)).toEqual([1, 1, ...spare, 1, 0, 1, ...spare, 1]);
    expect(ints(fed?.position_ids)).toEqual([2, 1]);
    cache = step.cache;
    expect((cache.pastFeeds()["past_key_values.0.key"] as HostTensor).data).toBe(buffer);
    expect([row(cache, 0), row(cache, 1)]).toEqual([
      [5, 106, 201],
      [0, 7, 102],
    ]);
    for (let t = 0; t < 16; t++) cache = (await runDecoderStep(runner, cache, [[3], [4]])).cache;
    // Grown when the 11th slot did not fit: 11 + 8 slots.
    expect([cache.length, cache.capacity]).toEqual([19, 19]);
    expect(row(cache, 0).slice(0, 4)).toEqual([5, 106, 201, 303]);
    expect(row(cache, 1).slice(-2)).toEqual([1604, 1704]);
  });
});
