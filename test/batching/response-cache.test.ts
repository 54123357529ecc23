import { describe, expect, it } from "vitest";
import { createDynamicBatcher } from "../../src/batching/dynamic-batcher.js";
import { createResponseCache } from "../../src/batching/response-cache.js";
import { responseCacheKey } from "../../src/batching/response-cache-key.js";
import { column, createFakeModel, yValues } from "../helpers/fake-model.js";

describe("responseCacheKey", () => {
  it("depends on bytes, dims, dtype, names and output set, not on key order", () => {
    const base = responseCacheKey({ x: column(1, 2) });
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(responseCacheKey({ x: column(1, 2) })).toBe(base);
    expect(responseCacheKey({ x: column(1, 3) })).not.toBe(base);
    const reshaped = { dtype: "float32" as const, dims: [1, 2], data: Float32Array.of(1, 2) };
    expect(responseCacheKey({ x: reshaped })).not.toBe(base);
    expect(responseCacheKey({ z: column(1, 2) })).not.toBe(base);
    expect(responseCacheKey({ x: column(1, 2) }, ["y"])).not.toBe(base);
    const two = { a: column(1), b: column(2) };
    expect(responseCacheKey(two, ["p", "q"])).toBe(
      responseCacheKey({ b: column(2), a: column(1) }, ["q", "p", "q"]),
    );
  });

  it("tells apart string tensors whose concatenations coincide", () => {
    const s = (data: string[]) => ({ x: { dtype: "string" as const, dims: [2], data } });
    expect(responseCacheKey(s(["ab", "c"]))).not.toBe(responseCacheKey(s(["a", "bc"])));
  });
});

describe("createResponseCache", () => {
  it("evicts the least recently used entry and hands out private copies", () => {
    const cache = createResponseCache({ maxEntries: 2 });
    cache.set("a", { y: column(1) });
    cache.set("b", { y: column(2) });
    expect(cache.get("a")).toBeDefined(); // a is now the most recently used
    cache.set("c", { y: column(3) });
    expect(cache.get("b")).toBeUndefined();
    expect(cache.size).toBe(2);
    const hit = cache.get("a");
    (hit?.y?.data as Float32Array)[0] = 99;
    expect(yValues(cache.get("a") ?? {})).toEqual([1]);
  });
});

describe("createDynamicBatcher with a response cache", () => {
  it("answers repeated requests from the cache without running the model", async () => {
    const model = createFakeModel();
    const events: boolean[] = [];
    const depths: number[] = [];
    const batcher = createDynamicBatcher(model, {
      maxBatchSize: 4,
      responseCache: { maxEntries: 8 },
      observer: {
        onBatch() {},
        onQueueDepth: (d) => depths.push(d),
        onCache: (hit) => events.push(hit),
        onReject() {},
      },
    });
    expect(yValues(await batcher.run({ x: column(4, 5) }))).toEqual([9, 11]);
    const depthsBefore = depths.length;
    const hit = await batcher.run({ x: column(4, 5) });
    expect(yValues(hit)).toEqual([9, 11]);
    expect(hit.y?.dims).toEqual([2, 1]);
    expect(depths.length).toBe(depthsBefore); // a hit never touches the queue
    expect(yValues(await batcher.run({ x: column(4, 6) }))).toEqual([9, 13]);
    expect(model.runs.map((r) => r.values)).toEqual([
      [4, 5],
      [4, 6],
    ]);
    expect(events).toEqual([false, true, false]);
    expect(batcher.stats()).toMatchObject({ cacheHits: 1, cacheMisses: 2 });
  });

  it("does not cache failures", async () => {
    const model = createFakeModel();
    const batcher = createDynamicBatcher(model, {
      maxBatchSize: 4,
      responseCache: { maxEntries: 8 },
    });
    await expect(batcher.run({ x: column(Number.NaN) })).rejects.toThrow(/NaN/);
    await expect(batcher.run({ x: column(Number.NaN) })).rejects.toThrow(/NaN/);
    expect(model.runs).toHaveLength(2);
  });
});
