import { describe, expect, it } from "vitest";
import { createDynamicBatcher } from "../../src/batching/dynamic-batcher.js";
import { column, createFakeModel, sleep, yValues } from "../helpers/fake-model.js";

/** Every x value the fake model ever computed on. */
const computed = (model: ReturnType<typeof createFakeModel>) => model.runs.flatMap((r) => r.values);

describe("createDynamicBatcher: admission, deadlines, cancellation, priority", () => {
  it("refuses a request beyond maxQueueSize at once with resource_exhausted", async () => {
    const model = createFakeModel({ latencyMs: 200 });
    const rejects: string[] = [];
    const batcher = createDynamicBatcher(model, {
      name: "iris",
      maxBatchSize: 1,
      maxQueueSize: 2,
      observer: { onBatch() {}, onQueueDepth() {}, onCache() {}, onReject: (k) => rejects.push(k) },
    });
    const ok = [batcher.run({ x: column(1) }), batcher.run({ x: column(2) })];
    const start = Date.now();
    const error = await batcher.run({ x: column(3) }).catch((e: unknown) => e);
    expect(Date.now() - start).toBeLessThan(50);
    expect(error).toMatchObject({
      kind: "resource_exhausted",
      message: expect.stringMatching(/queue of model "iris" is full \(max_queue_size 2 requests\)/),
    });
    expect(rejects).toEqual(["resource_exhausted"]);
    await Promise.all(ok);
    expect(computed(model)).toEqual([1, 2]);
    expect(batcher.stats().rejected).toEqual({ resource_exhausted: 1 });
  });

  it("rejects a queued request whose deadline passes with deadline_exceeded, never computing it", async () => {
    const model = createFakeModel({ latencyMs: 400 });
    const batcher = createDynamicBatcher(model, { maxBatchSize: 1 });
    let busyDone = false;
    const busy = batcher.run({ x: column(1) }).finally(() => {
      busyDone = true;
    });
    const start = Date.now();
    const late = batcher.run({ x: column(2) }, undefined, undefined, { deadline: start + 40 });
    const error = await late.catch((e: unknown) => e);
    const waited = Date.now() - start;
    expect(error).toMatchObject({ kind: "deadline_exceeded" });
    // Rejected when the deadline passed, not when the busy batch ended (causal, not timed:
    // a loaded machine may delay the timer, never reorder it after the busy batch's end).
    expect(waited).toBeGreaterThanOrEqual(38);
    expect(busyDone).toBe(false);
    await busy;
    await sleep(10);
    expect(computed(model)).toEqual([1]);
  });

  it("applies defaultTimeoutMs to requests without a deadline", async () => {
    const model = createFakeModel({ latencyMs: 120 });
    const batcher = createDynamicBatcher(model, { maxBatchSize: 1, defaultTimeoutMs: 30 });
    const first = batcher.run({ x: column(1) });
    const second = batcher.run({ x: column(2) });
    await expect(second).rejects.toMatchObject({ kind: "deadline_exceeded" });
    expect(yValues(await first)).toEqual([3]);
    expect(computed(model)).toEqual([1]);
    expect(batcher.stats().rejected).toEqual({ deadline_exceeded: 1 });
  });

  it("refuses a request whose deadline already passed without queueing it", async () => {
    const model = createFakeModel();
    const batcher = createDynamicBatcher(model, { maxBatchSize: 4 });
    const past = { deadline: Date.now() - 1 };
    await expect(batcher.run({ x: column(1) }, undefined, undefined, past)).rejects.toMatchObject({
      kind: "deadline_exceeded",
    });
    expect(model.runs).toEqual([]);
  });

  it("removes a cancelled queued request; its rows are never computed", async () => {
    const model = createFakeModel({ latencyMs: 60 });
    const batcher = createDynamicBatcher(model, { maxBatchSize: 8 });
    const busy = batcher.run({ x: column(1) });
    await sleep(5);
    const controller = new AbortController();
    const cancelled = batcher.run({ x: column(2) }, undefined, controller.signal);
    const kept = batcher.run({ x: column(3) });
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ kind: "canceled" });
    expect(batcher.stats().queueDepth).toBe(1);
    expect(yValues(await kept)).toEqual([7]);
    await busy;
    expect(model.runs.map((r) => r.values)).toEqual([[1], [3]]);
  });

  it("rejects an already-aborted signal with the abort's error kind", async () => {
    const model = createFakeModel();
    const batcher = createDynamicBatcher(model, { maxBatchSize: 8 });
    const signal = AbortSignal.abort(new DOMException("t", "TimeoutError"));
    await expect(batcher.run({ x: column(1) }, undefined, signal)).rejects.toMatchObject({
      kind: "deadline_exceeded",
    });
    expect(model.runs).toEqual([]);
  });

  it("drops only the result of a request aborted while its batch runs", async () => {
    const model = createFakeModel({ latencyMs: 40 });
    const batcher = createDynamicBatcher(model, { maxBatchSize: 8 });
    const controller = new AbortController();
    const aborted = batcher.run({ x: column(1) }, undefined, controller.signal);
    const mate = batcher.run({ x: column(2) });
    await sleep(10);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ kind: "canceled" });
    expect(yValues(await mate)).toEqual([5]);
    expect(model.runs.map((r) => r.values)).toEqual([[1, 2]]);
  });

  it("lets higher priority leave the queue first, equal priority in arrival order", async () => {
    const model = createFakeModel({ latencyMs: 20 });
    const batcher = createDynamicBatcher(model, { maxBatchSize: 1, priorityLevels: 3 });
    const busy = batcher.run({ x: column(0) });
    await sleep(5);
    const order = [
      [1, 0],
      [2, 2],
      [3, 1],
      [4, 0],
      [5, 9], // clamped to level 2, after the earlier level-2 request
      [6, 1],
    ];
    await Promise.all([
      busy,
      ...order.map(([x, priority]) =>
        batcher.run({ x: column(x ?? 0) }, undefined, undefined, { priority: priority ?? 0 }),
      ),
    ]);
    expect(computed(model)).toEqual([0, 2, 5, 3, 6, 1, 4]);
  });
});
