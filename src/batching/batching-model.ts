import type { LoadedModel, RunOptions, TensorMap } from "../runtime/model-runtime.js";
import type { QueueDelayMode } from "./batch-planner.js";

/** One dispatched batch, as reported to {@link BatchObserver.onBatch}. */
export interface BatchInfo {
  /** Rows (sum of the requests' dim 0) in the batch. */
  readonly size: number;
  /** Requests combined into the batch. */
  readonly requests: number;
  /** How long each request waited in the queue, in milliseconds. */
  readonly queueMs: readonly number[];
  /** Wall time of the model run(s), including per-request retries after a failure. */
  readonly computeMs: number;
}

/**
 * Observability hooks; the metrics module maps them onto Prometheus. Called
 * synchronously on the event loop, so implementations must be cheap and must not throw.
 */
export interface BatchObserver {
  onBatch(info: BatchInfo): void;
  /** Requests waiting in the queue, after every change. */
  onQueueDepth(depth: number): void;
  /** A response-cache lookup (only when a cache is configured). */
  onCache(hit: boolean): void;
  /** A request the batcher itself refused: queue full, deadline, cancel, shutdown. */
  onReject(kind: string): void;
}

/** Options of `createDynamicBatcher`: the batching and queueing part of a version's `model.json`. */
export interface DynamicBatcherOptions {
  /** Model name, used in error messages. */
  name?: string;
  /** Most rows per batch; 0 never batches (pass-through, still queued and admitted). */
  maxBatchSize: number;
  /** How long (µs) the oldest request of a group may wait for company; default 0: dispatch at once. */
  maxQueueDelayUs?: number;
  /**
   * Default "adaptive": a request waits for company only while every instance is busy
   * (never longer than `maxQueueDelayUs`); "fixed": Triton's, up to the delay even when
   * an instance is idle. See {@link QueueDelayMode}.
   */
  queueDelay?: QueueDelayMode;
  /** Row counts that dispatch a batch as soon as the queue can form one of them. */
  preferredBatchSizes?: readonly number[];
  /** Requests allowed to wait; one more is refused `resource_exhausted`. Default unlimited. */
  maxQueueSize?: number;
  /** Deadline for requests that bring none (ms from arrival). Default: none. */
  defaultTimeoutMs?: number;
  /** Batches run at once: one per instance of the underlying pool. Default 1. */
  instanceCount?: number;
  /** When set, priorities are clamped into [0, priorityLevels - 1]; higher leaves first. */
  priorityLevels?: number;
  /** Serve repeated identical requests from an LRU without touching the queue. */
  responseCache?: { maxEntries: number };
  observer?: BatchObserver;
}

/** Counters since creation, plus the current queue state. */
export interface BatcherStats {
  readonly queueDepth: number;
  readonly inFlightBatches: number;
  /** Batches dispatched to the model (a pass-through request counts as one). */
  readonly batches: number;
  /** Rows across those batches. */
  readonly rows: number;
  /** Requests answered by the model (successfully or with its error). */
  readonly completed: number;
  readonly cacheHits: number;
  readonly cacheMisses: number;
  /** Requests the batcher refused, by error kind. */
  readonly rejected: Readonly<Record<string, number>>;
}

/**
 * A {@link LoadedModel} that queues requests and runs them in dynamic batches; the
 * registry hands it out in place of the raw model. `run` takes the per-request
 * priority and deadline as its fourth argument.
 */
export interface BatchingModel extends LoadedModel {
  run(
    inputs: TensorMap,
    outputNames?: readonly string[],
    signal?: AbortSignal,
    options?: RunOptions,
  ): Promise<TensorMap>;
  stats(): BatcherStats;
}
