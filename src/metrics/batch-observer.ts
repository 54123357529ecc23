import type { InferdMetrics } from "./inferd-metrics.js";

/** What the batcher reports about one model run. */
export interface BatchInfo {
  /** Rows in the run (the batch dimension after concatenation). */
  readonly size: number;
  /** Requests merged into the run. */
  readonly requests: number;
  /** Queue wait of each request in the run, in milliseconds. */
  readonly queueMs: readonly number[];
  /** Time the model run took, in milliseconds. */
  readonly computeMs: number;
}

/**
 * The hooks a dynamic batcher calls (structurally the same as
 * `BatchObserver` in `batching/batching-model.ts`). Plain callbacks so that the batcher does
 * not depend on prom-client; tests pass their own.
 */
export interface BatchObserver {
  onBatch(info: BatchInfo): void;
  onQueueDepth(depth: number): void;
  onCache(hit: boolean): void;
  /** A request the batcher refused; `kind` is an `InferdErrorKind` such as "resource_exhausted". */
  onReject(kind: string): void;
}

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
