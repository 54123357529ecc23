import type { BatchObserver } from "../batching/batching-model.js";
import type { InferdMetrics } from "./inferd-metrics.js";

export type { BatchInfo, BatchObserver } from "../batching/batching-model.js";

/** A {@link BatchObserver} that records into `metrics` for one model version. */
export function createBatchObserver(
  metrics: InferdMetrics,
  model: string,
  version: number,
): BatchObserver {
  const labels = { model, version: String(version) };
  return {
    onBatch(info) {
      metrics.inferenceBatchSize.observe(labels, info.size);
      metrics.inferenceComputeSeconds.observe(labels, info.computeMs / 1000);
      for (const ms of info.queueMs) metrics.inferenceQueueSeconds.observe(labels, ms / 1000);
    },
    onQueueDepth(depth) {
      metrics.inferenceQueueDepth.set(labels, depth);
    },
    onCache(hit) {
      (hit ? metrics.cacheHits : metrics.cacheMisses).inc(labels);
    },
    onReject(kind) {
      metrics.inferenceRejected.inc({ ...labels, kind });
    },
  };
}
