import { describe, expect, it } from "vitest";
import {
  type PrefixBlockData,
  PrefixCache,
  prefixBlockHashes,
} from "../../../src/generation/engine/prefix-cache.js";

/** A block's data tagged with `tag`, so a test can tell which copy was cached. */
const data = (tag: number): PrefixBlockData => ({
  keys: [Float32Array.of(tag)],
  values: [Float32Array.of(-tag)],
});
const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
/** 4 tokens a block, 100 bytes a block. */
const cacheOf = (budgetBytes: number) => new PrefixCache(budgetBytes, 100, 4);

describe("prefixBlockHashes", () => {
  it("hashes whole blocks only, each over its whole prefix", () => {
    expect(prefixBlockHashes(ids(11), 4)).toHaveLength(2);
    expect(prefixBlockHashes(ids(3), 4)).toEqual([]);
    const a = prefixBlockHashes([1, 2, 3, 4, 5, 6, 7, 8], 4);
    const b = prefixBlockHashes([1, 2, 3, 4, 5, 6, 7, 9], 4);
    const c = prefixBlockHashes([0, 2, 3, 4, 5, 6, 7, 8], 4);
    expect(b[0]).toBe(a[0]);
    expect(b[1]).not.toBe(a[1]);
    // Same second block, different first one: a different chain all along.
    expect(c[0]).not.toBe(a[0]);
    expect(c[1]).not.toBe(a[1]);
    // Token ids are hashed as 32-bit integers, not as text: [1, 23] is not [12, 3].
    expect(prefixBlockHashes([1, 23, 0, 0], 4)).not.toEqual(prefixBlockHashes([12, 3, 0, 0], 4));
  });
});

describe("PrefixCache", () => {
  it("finds the longest cached head of a chain and counts lookups, hits and tokens saved", () => {
    const cache = cacheOf(1000);
    expect(cache.maxBlocks).toBe(10);
    const chain = prefixBlockHashes(ids(12), 4);
    cache.store(chain.slice(0, 2), (i) => data(i));
    const found = cache.lookup(chain);
    expect(found.map((b) => b.keys[0]?.[0])).toEqual([0, 1]);
    cache.release(found);
    expect(cache.lookup(prefixBlockHashes(ids(12, 1), 4))).toEqual([]);
    expect(cache.stats()).toEqual({
      lookups: 2,
      hits: 1,
      tokensSaved: 8,
      blocks: 2,
      bytes: 200,
      evictions: 0,
    });
  });

  it("reads only the blocks it lacks", () => {
    const cache = cacheOf(1000);
    const chain = prefixBlockHashes(ids(12), 4);
    cache.store(chain.slice(0, 1), () => data(7));
    const read: number[] = [];
    cache.store(chain, (i) => {
      read.push(i);
      return data(i);
    });
    expect(read).toEqual([1, 2]);
    expect(cache.lookup(chain).map((b) => b.keys[0]?.[0])).toEqual([7, 1, 2]);
  });

  it("holds floor(budget / block bytes) blocks and evicts the least recently used, a chain's tail first", () => {
    const cache = cacheOf(399);
    expect(cache.maxBlocks).toBe(3);
    const a = prefixBlockHashes(ids(12), 4);
    const b = prefixBlockHashes(ids(8, 100), 4);
    cache.store(a, (i) => data(i));
    cache.store(b, (i) => data(10 + i));
    // b took two blocks: a's tail (blocks 2, then 1) went first; a's head stays.
    expect(cache.stats()).toMatchObject({ blocks: 3, bytes: 300, evictions: 2 });
    cache.release(cache.lookup(a));
    expect(cache.lookup(a).map((b) => b.keys[0]?.[0])).toEqual([0]);
    expect(cache.lookup(b).map((b) => b.keys[0]?.[0])).toEqual([10, 11]);
  });

  it("never evicts a block pinned by a lookup; a store that finds no room stops", () => {
    const cache = cacheOf(200);
    const a = prefixBlockHashes(ids(8), 4);
    cache.store(a, (i) => data(i));
    const pinned = cache.lookup(a);
    const b = prefixBlockHashes(ids(8, 100), 4);
    cache.store(b, (i) => data(10 + i));
    expect(cache.stats()).toMatchObject({ blocks: 2, evictions: 0 });
    expect(cache.lookup(b)).toEqual([]);
    cache.release(pinned);
    cache.release(pinned);
    cache.store(b, (i) => data(10 + i));
    expect(cache.stats()).toMatchObject({ blocks: 2, evictions: 2 });
    expect(cache.lookup(b).map((x) => x.keys[0]?.[0])).toEqual([10, 11]);
    expect(cache.lookup(a)).toEqual([]);
  });

  it("caches nothing with a budget under one block", () => {
    const cache = cacheOf(99);
    expect(cache.maxBlocks).toBe(0);
    cache.store(prefixBlockHashes(ids(8), 4), (i) => data(i));
    expect(cache.stats()).toMatchObject({ blocks: 0, bytes: 0, evictions: 0 });
  });
});
