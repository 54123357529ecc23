import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { BatchObserver as BatcherHooks } from "../../src/batching/batching-model.js";
import { createBatchObserver } from "../../src/metrics/batch-observer.js";
import { createInferdMetrics } from "../../src/metrics/inferd-metrics.js";

describe("createBatchObserver", () => {
  it("fits the dynamic batcher's observer option", async () => {
    const metrics = createInferdMetrics({ collectDefault: false });
    const hooks: BatcherHooks = createBatchObserver(metrics, "iris", 1);
    hooks.onReject("deadline_exceeded");
    const rejected = await metrics.inferenceRejected.get();
    expect(rejected.values).toEqual([
      { labels: { model: "iris", version: "1", kind: "deadline_exceeded" }, value: 1 },
    ]);
  });
});

/** A histogram's values without their metric names (which differ from the reference's). */
const unnamed = (got: { values: { labels: object; value: number }[] }) =>
  got.values.map(({ labels, value }) => ({ labels, value }));

describe("createBatchObserver's tallied histograms", () => {
  it("adds up a version's batches across observers (a version loaded again), as prom-client would", async () => {
    const metrics = createInferdMetrics({ collectDefault: false });
    const first = createBatchObserver(metrics, "mlp", 3);
    first.onBatch({ size: 3, requests: 3, computeMs: 2, queueMs: [0.5, 1, 30] });
    // Scraped between: the fold must keep what the next observer adds to the same series.
    await metrics.registry.metrics();
    createBatchObserver(metrics, "mlp", 3).onBatch({
      size: 1,
      requests: 1,
      computeMs: 7,
      queueMs: [0],
    });
    createBatchObserver(metrics, "other", 1).onBatch({
      size: 64,
      requests: 0,
      computeMs: 1,
      queueMs: [],
    });
    const reference = new Registry();
    const histogram = (name: string, buckets: number[]) =>
      new Histogram({ name, help: "h", labelNames: ["model", "version"], buckets, registers: [] });
    const size = histogram("size", [1, 2, 4, 8, 16, 32, 64, 128, 256]);
    const queue = histogram(
      "queue",
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    );
    reference.registerMetric(size);
    reference.registerMetric(queue);
    for (const [model, version, rows] of [
      ["mlp", "3", 3],
      ["mlp", "3", 1],
      ["other", "1", 64],
    ]) {
      size.observe({ model: String(model), version: String(version) }, Number(rows));
    }
    for (const s of [0.0005, 0.001, 0.03, 0]) queue.observe({ model: "mlp", version: "3" }, s);
    expect(unnamed(await metrics.inferenceBatchSize.get())).toEqual(unnamed(await size.get()));
    expect(unnamed(await metrics.inferenceQueueSeconds.get())).toEqual(unnamed(await queue.get()));
    const compute = await metrics.inferenceComputeSeconds.get();
    const sums = compute.values.filter((v) => v.metricName?.endsWith("_sum"));
    expect(sums.map((v) => [v.labels.model, v.value])).toEqual([
      ["mlp", 0.002 + 0.007],
      ["other", 0.001],
    ]);
  });
});
