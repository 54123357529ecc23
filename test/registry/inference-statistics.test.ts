import { describe, expect, it } from "vitest";
import { createInferenceStatistics } from "../../src/registry/inference-statistics.js";

const ORIGIN = 1_700_000_000_000;
const zero = { count: 0, ns: 0 };

describe("createInferenceStatistics", () => {
  it("starts at zero, with no last inference and no batch sizes", () => {
    expect(createInferenceStatistics({ timeOrigin: ORIGIN }).snapshot()).toEqual({
      lastInference: 0,
      inferenceCount: 0,
      executionCount: 0,
      success: zero,
      fail: zero,
      queue: zero,
      computeInput: zero,
      computeInfer: zero,
      computeOutput: zero,
      cacheHit: zero,
      cacheMiss: zero,
      batches: [],
    });
  });

  it("sums requests, batches and cache lookups in Triton's terms", () => {
    const stats = createInferenceStatistics({ timeOrigin: ORIGIN });
    // A batch of 3 rows from 2 requests (waited 0.5 and 1.25 ms), computing 2 ms.
    stats.recordBatch(3, 2, [0.5, 1.25]);
    stats.recordBatch(1, 0.75, [0.25]);
    stats.recordBatch(3, 4, [0]);
    stats.recordCache(true);
    stats.recordCache(false);
    stats.recordRequest(true, 100, 103.5);
    stats.recordRequest(true, 200, 200.25);
    stats.recordRequest(false, 300, 301);
    const s = stats.snapshot();
    expect(s.lastInference).toBe(ORIGIN + 301);
    expect(s.inferenceCount).toBe(7);
    expect(s.executionCount).toBe(3);
    expect(s.success).toEqual({ count: 2, ns: 3_750_000 });
    expect(s.fail).toEqual({ count: 1, ns: 1_000_000 });
    // Every dispatched request, and the cache hit (which did not queue).
    expect(s.queue).toEqual({ count: 5, ns: 2_000_000 });
    // Per request, each with its whole batch's time: 2 + 2 + 0.75 + 4 ms.
    expect(s.computeInfer).toEqual({ count: 4, ns: 8_750_000 });
    expect(s.computeInput).toEqual({ count: 4, ns: 0 });
    expect(s.computeOutput).toEqual({ count: 4, ns: 0 });
    expect(s.cacheHit).toEqual({ count: 1, ns: 0 });
    expect(s.cacheMiss).toEqual({ count: 1, ns: 0 });
    expect(s.batches).toEqual([
      {
        batchSize: 1,
        computeInput: { count: 1, ns: 0 },
        computeInfer: { count: 1, ns: 750_000 },
        computeOutput: { count: 1, ns: 0 },
      },
      {
        batchSize: 3,
        computeInput: { count: 2, ns: 0 },
        computeInfer: { count: 2, ns: 6_000_000 },
        computeOutput: { count: 2, ns: 0 },
      },
    ]);
  });

  it("reports the last request's end in epoch milliseconds, and snapshots do not move", () => {
    const stats = createInferenceStatistics({ timeOrigin: ORIGIN });
    stats.recordRequest(true, 10, 20.4);
    const first = stats.snapshot();
    stats.recordRequest(false, 30, 50.6);
    expect(first.lastInference).toBe(ORIGIN + 20);
    expect(first.success.count).toBe(1);
    expect(stats.snapshot().lastInference).toBe(ORIGIN + 51);
  });

  it("defaults to the process's time origin", () => {
    const stats = createInferenceStatistics();
    const now = performance.now();
    stats.recordRequest(true, now, now);
    expect(Math.abs(stats.snapshot().lastInference - Date.now())).toBeLessThan(60_000);
  });
});
