/** A count and the total time it took, in nanoseconds (Triton's `StatisticDuration`). */
export interface DurationStatistic {
  readonly count: number;
  readonly ns: number;
}

/** What the model executions of one batch size cost (Triton's `InferBatchStatistics`). */
export interface BatchSizeStatistics {
  readonly batchSize: number;
  readonly computeInput: DurationStatistic;
  readonly computeInfer: DurationStatistic;
  readonly computeOutput: DurationStatistic;
}

/** One version's statistics at one moment, in Triton's terms (see {@link InferenceStatistics}). */
export interface InferenceStatisticsSnapshot {
  /** The end of the last request, in ms since the epoch; 0 before the first. */
  readonly lastInference: number;
  /** Rows the model ran (a request of 3 rows counts 3); cache hits excluded. */
  readonly inferenceCount: number;
  /** Model executions (batches); cache hits excluded. */
  readonly executionCount: number;
  readonly success: DurationStatistic;
  readonly fail: DurationStatistic;
  readonly queue: DurationStatistic;
  readonly computeInput: DurationStatistic;
  readonly computeInfer: DurationStatistic;
  readonly computeOutput: DurationStatistic;
  readonly cacheHit: DurationStatistic;
  readonly cacheMiss: DurationStatistic;
  /** One entry per batch size executed, ascending. */
  readonly batches: readonly BatchSizeStatistics[];
}

/**
 * Plain counters of one model version, cheap enough for every call: the numbers
 * Triton's statistics extension reports, which the Prometheus histograms cannot give
 * back per call. Times are `performance.now()` values the callers already took (no
 * clock is read here). The predictor reports each request's end (success or fail,
 * from lease to answer); the batcher each batch (rows, queue waits, compute) and each
 * cache lookup. Following Triton, a request in a batch counts once in `computeInfer`
 * with the whole batch's time, and once per batch in its size's entry. inferd times a
 * batch as one span (concatenation, run, split): `computeInput` and `computeOutput`
 * count like `computeInfer` with 0 ns, and cache lookups are not timed (0 ns).
 */
export interface InferenceStatistics {
  /** A request ended: `startedAt`/`endedAt` are `performance.now()` values. */
  recordRequest(ok: boolean, startedAt: number, endedAt: number): void;
  /** A batch of `rows` rows ran `computeMs`, its requests having waited `queueMs` each. */
  recordBatch(rows: number, computeMs: number, queueMs: readonly number[]): void;
  /** A response-cache lookup; a hit also counts as a request that did not queue. */
  recordCache(hit: boolean): void;
  snapshot(): InferenceStatisticsSnapshot;
}

/** Options of {@link createInferenceStatistics}. */
export interface InferenceStatisticsOptions {
  /** Epoch ms of `performance.now()` 0; default `performance.timeOrigin` (tests fix it). */
  readonly timeOrigin?: number;
}

const NS_PER_MS = 1e6;
const duration = (count: number, ms: number): DurationStatistic => ({
  count,
  ns: Math.round(ms * NS_PER_MS),
});

/** Creates an empty {@link InferenceStatistics}. */
export function createInferenceStatistics(
  options: InferenceStatisticsOptions = {},
): InferenceStatistics {
  const timeOrigin = options.timeOrigin ?? performance.timeOrigin;
  // Milliseconds, summed as they come: converted to ns only when read.
  let lastEnd = -1;
  let rows = 0;
  let executions = 0;
  let successCount = 0;
  let successMs = 0;
  let failCount = 0;
  let failMs = 0;
  let queueCount = 0;
  let queueMs = 0;
  let computedRequests = 0;
  let computeMs = 0;
  let cacheHits = 0;
  let cacheMisses = 0;
  // Per batch size: [executions, ms]; a size seen before costs no allocation.
  const bySize = new Map<number, [number, number]>();
  return {
    recordRequest(ok, startedAt, endedAt) {
      lastEnd = endedAt;
      if (ok) {
        successCount++;
        successMs += endedAt - startedAt;
      } else {
        failCount++;
        failMs += endedAt - startedAt;
      }
    },
    recordBatch(batchRows, batchMs, waits) {
      rows += batchRows;
      executions++;
      computedRequests += waits.length;
      computeMs += batchMs * waits.length;
      queueCount += waits.length;
      for (const wait of waits) queueMs += wait;
      const entry = bySize.get(batchRows);
      if (entry === undefined) bySize.set(batchRows, [1, batchMs]);
      else {
        entry[0]++;
        entry[1] += batchMs;
      }
    },
    recordCache(hit) {
      if (!hit) {
        cacheMisses++;
        return;
      }
      cacheHits++;
      queueCount++;
    },
    snapshot: () => ({
      lastInference: lastEnd < 0 ? 0 : Math.round(timeOrigin + lastEnd),
      inferenceCount: rows,
      executionCount: executions,
      success: duration(successCount, successMs),
      fail: duration(failCount, failMs),
      queue: duration(queueCount, queueMs),
      computeInput: duration(computedRequests, 0),
      computeInfer: duration(computedRequests, computeMs),
      computeOutput: duration(computedRequests, 0),
      cacheHit: duration(cacheHits, 0),
      cacheMiss: duration(cacheMisses, 0),
      batches: [...bySize]
        .sort(([a], [b]) => a - b)
        .map(([batchSize, [count, ms]]) => ({
          batchSize,
          computeInput: duration(count, 0),
          computeInfer: duration(count, ms),
          computeOutput: duration(count, 0),
        })),
    }),
  };
}
