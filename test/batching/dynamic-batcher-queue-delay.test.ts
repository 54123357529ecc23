import { describe, expect, it } from "vitest";
import type { BatchInfo, DynamicBatcherOptions } from "../../src/batching/batching-model.js";
import { createDynamicBatcher } from "../../src/batching/dynamic-batcher.js";
import { column, createFakeModel, yValues } from "../helpers/fake-model.js";

/** Lets pending microtasks run (the batcher plans in one) but no timer: nothing waits. */
const microtasks = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};
/** One event-loop turn: far shorter than any queue delay used here. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

function batcherOf(model: ReturnType<typeof createFakeModel>, options: DynamicBatcherOptions) {
  const batches: BatchInfo[] = [];
  const observer = {
    onBatch: (b: BatchInfo) => batches.push(b),
    onQueueDepth() {},
    onCache() {},
    onReject() {},
  };
  return { batcher: createDynamicBatcher(model, { ...options, observer }), batches };
}

describe("createDynamicBatcher: adaptive queue delay (the default)", () => {
  it("runs a lone request at once when the instance is idle, before any timer could fire", async () => {
    const model = createFakeModel();
    const { batcher, batches } = batcherOf(model, { maxBatchSize: 8, maxQueueDelayUs: 50_000 });
    const result = batcher.run({ x: column(1) });
    await microtasks();
    expect(model.runs.map((r) => r.values)).toEqual([[1]]);
    expect(yValues(await result)).toEqual([3]);
    await turn();
    // Dispatched in the arrival tick's microtask: it never waited for company.
    expect(batches[0]?.queueMs[0]).toBeLessThan(5);
  });

  it("while the instance is busy, gathers arrivals and runs them together as it frees", async () => {
    const model = createFakeModel();
    let release = () => {};
    model.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { batcher } = batcherOf(model, { maxBatchSize: 8, maxQueueDelayUs: 5_000_000 });
    const first = batcher.run({ x: column(1) });
    await microtasks();
    // Three arrivals on three successive event-loop turns while the run is held.
    const later = [2, 3, 4].map(async (x) => {
      for (let i = 1; i < x; i++) await turn();
      return batcher.run({ x: column(x) });
    });
    for (let i = 0; i < 4; i++) await turn();
    expect(model.runs.map((r) => r.values)).toEqual([[1]]);
    release();
    await first;
    await turn();
    // Right as the instance freed, far inside the 5 s delay: one batch of all three.
    expect(model.runs.map((r) => r.values)).toEqual([[1], [2, 3, 4]]);
    expect((await Promise.all(later)).map(yValues)).toEqual([[5], [7], [9]]);
  });
});

describe("createDynamicBatcher: fixed queue delay (Triton's)", () => {
  it("holds a lone request for the delay even though the instance is idle", async () => {
    const model = createFakeModel();
    const { batcher, batches } = batcherOf(model, {
      maxBatchSize: 8,
      maxQueueDelayUs: 50_000,
      queueDelay: "fixed",
    });
    const start = performance.now();
    const result = batcher.run({ x: column(1) });
    await microtasks();
    await turn();
    expect(model.runs).toEqual([]);
    expect(yValues(await result)).toEqual([3]);
    expect(performance.now() - start).toBeGreaterThanOrEqual(50);
    await turn();
    expect(batches[0]?.queueMs[0]).toBeGreaterThanOrEqual(50);
  });
});
