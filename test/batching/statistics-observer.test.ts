import { describe, expect, it } from "vitest";
import type { BatchInfo, BatchObserver } from "../../src/batching/batching-model.js";
import { createDynamicBatcher } from "../../src/batching/dynamic-batcher.js";
import { observeStatistics } from "../../src/batching/statistics-observer.js";
import { createInferenceStatistics } from "../../src/registry/inference-statistics.js";
import { column, createFakeModel } from "../helpers/fake-model.js";

/** An observer that records what reaches it, as the Prometheus one would see it. */
function recordingObserver() {
  const seen = { batches: [] as BatchInfo[], depths: [] as number[], cache: [] as boolean[] };
  const observer: BatchObserver = {
    onBatch: (info) => seen.batches.push(info),
    onQueueDepth: (depth) => seen.depths.push(depth),
    onCache: (hit) => seen.cache.push(hit),
    onReject() {},
  };
  return { seen, observer };
}

describe("observeStatistics", () => {
  it("counts a real batcher's batches, rows, queue waits and cache lookups, and passes every event on", async () => {
    const statistics = createInferenceStatistics();
    const { seen, observer } = recordingObserver();
    const model = createFakeModel({ latencyMs: 5 });
    const batcher = createDynamicBatcher(model, {
      maxBatchSize: 4,
      responseCache: { maxEntries: 16 },
      observer: observeStatistics(statistics, observer),
    });
    // 8 distinct one-row requests at once: two batches of 4.
    await Promise.all(Array.from({ length: 8 }, (_, i) => batcher.run({ x: column(i) })));
    await batcher.run({ x: column(3) }); // answered from the cache
    const s = statistics.snapshot();
    expect(model.runs.map((r) => r.rows)).toEqual([4, 4]);
    expect([s.inferenceCount, s.executionCount]).toEqual([8, 2]);
    expect(s.computeInfer.count).toBe(8);
    expect(s.queue.count).toBe(9);
    expect([s.cacheHit.count, s.cacheMiss.count]).toEqual([1, 8]);
    expect(s.batches.map((b) => [b.batchSize, b.computeInfer.count])).toEqual([[4, 2]]);
    // The batch's own time, as the batcher measured it: at least the model's 5 ms each.
    const computeMs = seen.batches.reduce((sum, b) => sum + b.computeMs, 0);
    expect(s.batches[0]?.computeInfer.ns).toBe(Math.round(computeMs * 1e6));
    expect(computeMs).toBeGreaterThanOrEqual(8);
    expect(seen.batches.map((b) => b.size)).toEqual([4, 4]);
    expect(seen.cache.filter((hit) => hit)).toHaveLength(1);
    expect(seen.depths.at(-1)).toBe(0);
    // Requests end in the predictor, not here.
    expect(s.success.count + s.fail.count).toBe(0);
    await batcher.dispose();
  });
});
