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
