import { describe, expect, it } from "vitest";
import type { BatchInfo } from "../../src/batching/batching-model.js";
import { createDynamicBatcher } from "../../src/batching/dynamic-batcher.js";
import type { LoadedModel, SeparateRun } from "../../src/runtime/model-runtime.js";
import { column, createFakeModel, sleep, yValues } from "../helpers/fake-model.js";

/** The fake model plus `runSeparately`, recording each group's first input values. */
function withGroups(model: LoadedModel, groups: number[][]): LoadedModel {
  return {
    inputs: model.inputs,
    outputs: model.outputs,
    get pending() {
      return model.pending;
    },
    run: (...args) => model.run(...args),
    runSeparately: (runs: readonly SeparateRun[]) => {
      groups.push(runs.map((r) => (r.inputs.x as { data: Float32Array }).data[0] ?? -1));
      return runs.map((r) => model.run(r.inputs, r.outputNames, r.signal));
    },
    dispose: () => model.dispose(),
  };
}

describe("runSeparately: batching off hands the model what queued, one run per request", () => {
  it("groups the requests that queued behind a busy instance, in priority order, each answered alone", async () => {
    const groups: number[][] = [];
    const batches: BatchInfo[] = [];
    const batcher = createDynamicBatcher(withGroups(createFakeModel({ latencyMs: 5 }), groups), {
      maxBatchSize: 0,
      priorityLevels: 3,
      observer: { onBatch: (b) => batches.push(b), onQueueDepth() {}, onCache() {}, onReject() {} },
    });
    const run = (i: number, priority = 0) =>
      batcher.run({ x: column(i) }, [], undefined, { priority });
    const first = run(0);
    await sleep(1);
    const calls = [first, run(1), run(2), run(3, 2)];
    const results = await Promise.all(calls);
    // The first went alone at once (plain `run`); the three that queued behind it leave
    // as one group, the high priority first.
    expect(groups).toEqual([[3, 1, 2]]);
    expect(results.map((r) => yValues(r))).toEqual([[1], [3], [5], [7]]);
    await sleep(1); // the group's observations follow its answers
    expect(batches.map((b) => [b.size, b.requests])).toEqual([
      [1, 1],
      [1, 1],
      [1, 1],
      [1, 1],
    ]);
    expect(batcher.stats()).toMatchObject({ batches: 4, rows: 4, completed: 4 });
  });
});

describe("runBatch: a lone request is the model's own run", () => {
  it("a model whose run throws synchronously fails that request alone, and the batcher carries on", async () => {
    const model = createFakeModel();
    let throwNext = true;
    const throwing: LoadedModel = {
      ...{ inputs: model.inputs, outputs: model.outputs, pending: 0 },
      run: (...args) => {
        if (!throwNext) return model.run(...args);
        throwNext = false;
        throw new Error("sync failure");
      },
      dispose: () => model.dispose(),
    };
    for (const maxBatchSize of [0, 8]) {
      throwNext = true;
      const batcher = createDynamicBatcher(throwing, { maxBatchSize });
      await expect(batcher.run({ x: column(1) })).rejects.toThrow("sync failure");
      expect(yValues(await batcher.run({ x: column(2) }))).toEqual([5]);
      await sleep(1); // the counters follow the answers
      expect(batcher.stats()).toMatchObject({ batches: 2, completed: 2, queueDepth: 0 });
    }
  });

  it("hands a lone request's own tensors to the model, uncopied, and has counted and observed it when its caller resumes", async () => {
    const model = createFakeModel();
    const batches: BatchInfo[] = [];
    const batcher = createDynamicBatcher(model, {
      maxBatchSize: 8,
      maxQueueDelayUs: 50_000,
      observer: { onBatch: (b) => batches.push(b), onQueueDepth() {}, onCache() {}, onReject() {} },
    });
    const inputs = { x: column(3) };
    expect(yValues(await batcher.run(inputs, ["y"]))).toEqual([7]);
    expect(model.runs[0]?.inputs).toBe(inputs);
    expect(batches.map((b) => [b.size, b.requests, b.queueMs.length])).toEqual([[1, 1, 1]]);
    expect(batcher.stats()).toMatchObject({
      batches: 1,
      rows: 1,
      completed: 1,
      inFlightBatches: 0,
    });
  });
});
