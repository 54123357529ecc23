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
  // Bound once: `observe(labels, v)` builds a closure and checks exemplars per call.
  const batchSize = metrics.inferenceBatchSize.labels(labels);
  const computeSeconds = metrics.inferenceComputeSeconds.labels(labels);
  const queueSeconds = metrics.inferenceQueueSeconds.labels(labels);
  const queueDepth = metrics.inferenceQueueDepth.labels(labels);
  return {
    onBatch(info) {
      batchSize.observe(info.size);
      computeSeconds.observe(info.computeMs / 1000);
      for (const ms of info.queueMs) queueSeconds.observe(ms / 1000);
    },
    onQueueDepth(depth) {
      queueDepth.set(depth);
    },
    onCache(hit) {
      (hit ? metrics.cacheHits : metrics.cacheMisses).inc(labels);
    },
    onReject(kind) {
      metrics.inferenceRejected.inc({ ...labels, kind });
    },
  };
}
