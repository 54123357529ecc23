import type { InferenceStatistics } from "../registry/inference-statistics.js";
import type { BatchObserver } from "./batching-model.js";

/**
 * A {@link BatchObserver} that records every batch and cache lookup into a version's
 * {@link InferenceStatistics} (Triton's statistics) and passes every event on to
 * `next` (the Prometheus observer). It reuses the times the batcher already measured:
 * no clock read, no allocation.
 */
export function observeStatistics(
  statistics: InferenceStatistics,
  next: BatchObserver,
): BatchObserver {
  return {
    onBatch(info) {
      statistics.recordBatch(info.size, info.computeMs, info.queueMs);
      next.onBatch(info);
    },
    onQueueDepth: (depth) => next.onQueueDepth(depth),
    onCache(hit) {
      statistics.recordCache(hit);
      next.onCache(hit);
    },
    onReject: (kind) => next.onReject(kind),
  };
}
