import { describe, expect, it } from "vitest";
import type { DecoderSignature } from "../../../src/generation/engine/decoder-signature.js";
import type { GenerationSequence } from "../../../src/generation/engine/generation-sequence.js";
import { KvCache } from "../../../src/generation/engine/kv-cache.js";
import {
  joinGroup,
  mergeGroups,
  type RunningGroup,
  sharedRunSlack,
  shareRun,
} from "../../../src/generation/engine/running-groups.js";

/** Concat mode: a cache's capacity is its length, so the numbers below are exact. */
const sig: DecoderSignature = {
  numLayers: 1,
  numKvHeads: 1,
  headDim: 1,
  vocabSize: 8,
  hasPositionIds: false,
  kvCache: "concat",
};

/** `rows` rows of `length` real slots each; slot values are the row's `tag`. */
function cache(rows: number, length: number, tag = 0): KvCache {
  const one = () => {
    const slots = [new Float32Array(length).fill(tag)];
    return KvCache.fromSlots(sig, slots, slots, length);
  };
  let out = one();
  for (let r = 1; r < rows; r++) out = out.concat(one());
  return out;
}

const seq = (id: number) => ({ id }) as unknown as GenerationSequence;
const ids = (groups: readonly RunningGroup[]) => groups.map((g) => g.seqs.map((s) => s.id));

describe("shareRun", () => {
  it.each([
    // A 1,125-slot row among 8 of 68: 8,456 padded slots, more than both bounds.
    [8, 68, 1, 1125, false],
    // Padding within 2,048 slots, whatever the real ones.
    [4, 10, 1, 520, true],
    [4, 10, 1, 700, false],
    // Two single rows: the padding (the length apart) never exceeds the real slots.
    [1, 10, 1, 5000, true],
    // Padding (16 x 400 = 6,400) at most the real slots (16 x 300 + 16 x 700).
    [16, 300, 16, 700, true],
    [16, 100, 1, 3000, false],
  ])("%i rows of %i and %i of %i: %s", (rowsA, lenA, rowsB, lenB, shared) => {
    expect(shareRun(cache(rowsA, lenA), cache(rowsB, lenB))).toBe(shared);
    expect(shareRun(cache(rowsB, lenB), cache(rowsA, lenA))).toBe(shared);
  });
});

describe("sharedRunSlack", () => {
  it("is about a fifth of the weight bytes in cache slots, and never below 96 MiB of cache", () => {
    // SmolLM2-135M's shape, fp32: 538 MB of weights, 46,080 bytes of keys and values a token.
    expect(sharedRunSlack(538_060_032, 46_080)).toBe(2336);
    // A 1B decoder (16 layers, 8 KV heads of 64, fp32): 4.4 GB, 65,536 bytes a token.
    expect(sharedRunSlack(4_400_000_000, 65_536)).toBe(13_428);
    // stories260k: a run is per-op overhead; 96 MiB of its 1,280-byte tokens is any batch it can hold.
    expect(sharedRunSlack(1_000_000, 1280)).toBe(78_644);
  });

  it("decides shareRun: a long row among short ones shares their run under a large enough slack", () => {
    expect(shareRun(cache(8, 68), cache(1, 1125), 2336)).toBe(false);
    expect(shareRun(cache(8, 68), cache(1, 1125), 78_644)).toBe(true);
  });
});

describe("joinGroup and mergeGroups", () => {
  it("puts a row with the group it pads least, or in a group of its own", () => {
    const groups: RunningGroup[] = [];
    joinGroup(groups, seq(1), cache(1, 60, 1));
    joinGroup(groups, seq(2), cache(1, 70, 2));
    joinGroup(groups, seq(3), cache(1, 5000, 3));
    joinGroup(groups, seq(4), cache(1, 4800, 4));
    expect(ids(groups)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(groups.map((g) => [g.cache.rows, g.cache.capacity])).toEqual([
      [2, 70],
      [2, 5000],
    ]);
    // Row 2 of the first group is sequence 2's: its slots, left-padded to 70.
    expect(Array.from(groups[0]?.cache.readSlots(1, 0, 70).keys[0] ?? [])).toEqual(
      new Array(70).fill(2),
    );
  });

  it("merges groups that share a run once the long rows are gone, and drops empty ones", () => {
    const groups: RunningGroup[] = [
      { seqs: [seq(1), seq(2)], cache: cache(2, 60) },
      { seqs: [seq(3)], cache: cache(1, 5000) },
      { seqs: [seq(4)], cache: cache(1, 90) },
    ];
    // Short rows 1-2 and 4 already share a run; the long one stays apart.
    expect(ids(mergeGroups(groups))).toEqual([[1, 2, 4], [3]]);
    const emptied: RunningGroup[] = [
      { seqs: [], cache: cache(0, 0) },
      { seqs: [seq(5)], cache: cache(1, 10) },
    ];
    expect(ids(mergeGroups(emptied))).toEqual([[5]]);
  });
});
