import { addAbortListener } from "../abort/owned-abort.js";
import {
  abortReasonToError,
  deadlineExceeded,
  type InferdError,
  resourceExhausted,
  unavailable,
} from "../errors/inferd-error.js";
import type { LoadedModel, RunOptions, TensorMap } from "../runtime/model-runtime.js";
import { type BatchPolicy, planNextBatch } from "./batch-planner.js";
import { runBatch, runOne, runSeparately } from "./batch-runner.js";
import { createBatchTimers } from "./batch-timers.js";
import type { BatcherStats, BatchingModel, DynamicBatcherOptions } from "./batching-model.js";
import { isBatchable } from "./is-batchable.js";
import { PriorityQueue } from "./priority-queue.js";
import { keyRequest, type QueuedRequest, requestRows, settleReject } from "./queued-request.js";
import { createResponseCache } from "./response-cache.js";
import { responseCacheKey } from "./response-cache-key.js";

/**
 * Wraps a model in dynamic batching: concurrent requests queue, are grouped (same
 * inputs' dtypes/trailing dims and output set) and run together along dim 0, at most
 * `instanceCount` batches at a time. By default ("adaptive") a request that finds an
 * instance idle runs at once, and requests wait for company only while every instance
 * is busy; `queueDelay: "fixed"` holds them up to the delay, as Triton does. Admission
 * control (queue size), priorities, deadlines and aborts apply while queued; a failed
 * batch is retried per request so one bad request fails alone. A model without a
 * dynamic first input dimension, or `maxBatchSize` 0, passes requests through one at
 * a time.
 */
export function createDynamicBatcher(
  model: LoadedModel,
  options: DynamicBatcherOptions,
): BatchingModel {
  const what = options.name === undefined ? "the model" : `model "${options.name}"`;
  const maxBatchSize = isBatchable(model.inputs) ? Math.max(0, options.maxBatchSize) : 0;
  const policy: BatchPolicy = {
    maxBatchSize,
    maxQueueDelayMs: (options.maxQueueDelayUs ?? 0) / 1000,
    preferredBatchSizes: new Set(options.preferredBatchSizes ?? []),
    queueDelay: options.queueDelay ?? "adaptive",
  };
  const maxQueueSize = options.maxQueueSize ?? Number.POSITIVE_INFINITY;
  const instanceCount = Math.max(1, options.instanceCount ?? 1);
  const cache = options.responseCache && createResponseCache(options.responseCache);
  const observer = options.observer;
  const queue = new PriorityQueue<QueuedRequest>();
  const running = new Set<Promise<void>>();
  const counters = { batches: 0, rows: 0, completed: 0, cacheHits: 0, cacheMisses: 0 };
  const rejected: Record<string, number> = {};
  let inFlightRequests = 0;
  let seq = 0;
  let disposed = false;
  let pumpQueued = false;
  // -1: the first pump reports, so the series exists once the model has had a call.
  let reportedDepth = -1;
  // Queued requests with a deadline: without any, a pump skips both deadline scans.
  let deadlined = 0;
  const timers = createBatchTimers(requestPump);
  // Passing through to a model that takes several runs at once: hand it the queue's head
  // in groups (see `LoadedModel.runSeparately`), still one run per request.
  const separately = maxBatchSize === 0 && model.runSeparately !== undefined;

  // Batching off: every request runs alone and at once, so there is nothing to plan; nor
  // for a lone request when adaptive (the planner would dispatch it alone at once).
  const passThrough = maxBatchSize === 0;
  const adaptive = policy.queueDelay === "adaptive";

  /**
   * The head of the queue, in leaving order: with `runSeparately` this free instance's
   * share, at most 64; otherwise the head alone.
   */
  function passThroughGroup(): QueuedRequest[] {
    if (!separately) return [queue.items[0] as QueuedRequest];
    const share = Math.ceil(queue.length / Math.max(1, instanceCount - running.size));
    return queue.items.slice(0, Math.min(share, MAX_PASS_THROUGH_GROUP));
  }

  function countReject(kind: string): void {
    rejected[kind] = (rejected[kind] ?? 0) + 1;
    observer?.onReject(kind);
  }

  function refuse(error: InferdError): Promise<never> {
    countReject(error.kind);
    return Promise.reject(error);
  }

  /** Rejects a request the batcher gives up on, counting it. */
  function drop(request: QueuedRequest, error: InferdError): void {
    if (settleReject(request, error)) countReject(error.kind);
  }

  function requestPump(): void {
    if (pumpQueued) return;
    pumpQueued = true;
    // Coalesce: requests arriving in one tick are planned together.
    queueMicrotask(pump);
  }

  function pump(): void {
    pumpQueued = false;
    if (deadlined > 0) expireDeadlines(Date.now());
    // Queue times run on the monotonic sub-millisecond clock; deadlines are epoch ms.
    const now = performance.now();
    let waitUntil = Number.POSITIVE_INFINITY;
    while (running.size < instanceCount && queue.length > 0) {
      let members: readonly QueuedRequest[];
      if (passThrough || (adaptive && queue.length === 1)) members = passThroughGroup();
      else {
        for (const request of queue.items) keyRequest(request, maxBatchSize);
        const plan = planNextBatch(queue.items, now, policy);
        if (plan.kind === "wait") {
          waitUntil = plan.until;
          break;
        }
        members = plan.members;
      }
      for (const member of members) unqueue(member);
      dispatch(members, now);
    }
    reportDepth();
    timers.armDelay(waitUntil);
    timers.armDeadline(deadlined > 0 ? nearestDeadline() : Number.POSITIVE_INFINITY);
  }

  /**
   * The queue depth gauge, once per pump and only when it changed: every change to the
   * queue (enqueue, abort, expiry, dispatch) is followed by a pump in the same tick,
   * before any scrape can read the gauge, so one observation per call was waste.
   */
  function reportDepth(): void {
    if (queue.length === reportedDepth) return;
    reportedDepth = queue.length;
    observer?.onQueueDepth(reportedDepth);
  }

  /** Takes a request out of the queue; false when it was not queued. */
  function unqueue(request: QueuedRequest): boolean {
    if (!queue.remove(request)) return false;
    if (request.deadline !== undefined) deadlined--;
    return true;
  }

  function expireDeadlines(now: number): void {
    const expired = queue.removeWhere((r) => r.deadline !== undefined && r.deadline <= now);
    if (expired.length === 0) return;
    deadlined -= expired.length;
    for (const request of expired) {
      const error = deadlineExceeded(
        `the request's deadline passed after ${Math.round(performance.now() - request.enqueuedAt)} ms in the queue of ${what}, before it could run; allow a longer deadline or add instances`,
      );
      drop(request, error);
    }
  }

  function nearestDeadline(): number {
    let nearest = Number.POSITIVE_INFINITY;
    for (const r of queue.items)
      if (r.deadline !== undefined) nearest = Math.min(nearest, r.deadline);
    return nearest;
  }

  function onAnswered(request: QueuedRequest, outputs: TensorMap): void {
    if (cache && request.cacheKey !== undefined) cache.set(request.cacheKey, outputs);
  }

  /**
   * A request that runs by itself (every call at low load, every call with batching
   * off): what `dispatch` does for a batch of one, without its arrays and with one
   * `then` for the answer and the bookkeeping (see `runOne`).
   */
  function dispatchOne(request: QueuedRequest, now: number): void {
    const queueMs = now - request.enqueuedAt;
    counters.batches++;
    counters.rows += request.rows;
    inFlightRequests++;
    const started = performance.now();
    const done = runOne(model, request, onAnswered, () => {
      running.delete(done);
      inFlightRequests--;
      counters.completed++;
      const computeMs = performance.now() - started;
      observer?.onBatch({ size: request.rows, requests: 1, queueMs: [queueMs], computeMs });
      if (queue.length > 0) requestPump();
    });
    running.add(done);
  }

  function dispatch(members: readonly QueuedRequest[], now: number): void {
    const only = members.length === 1 ? members[0] : undefined;
    if (only !== undefined) {
      dispatchOne(only, now);
      return;
    }
    const size = members.reduce((sum, m) => sum + m.rows, 0);
    const queueMs = observer ? members.map((m) => now - m.enqueuedAt) : [];
    counters.batches += separately ? members.length : 1;
    counters.rows += size;
    inFlightRequests += members.length;
    const started = performance.now();
    const run = separately
      ? runSeparately(model, members, onAnswered)
      : runBatch(model, members, onAnswered);
    const done = run.then(() => {
      running.delete(done);
      inFlightRequests -= members.length;
      counters.completed += members.length;
      observeBatches(members, queueMs, size, performance.now() - started);
      // An empty queue has nothing to plan, and its last pump already disarmed the timers.
      if (queue.length > 0) requestPump();
    });
    running.add(done);
  }

  /**
   * One observation per batch; a group of separate runs is that many batches of one
   * request, each given an equal share of the group's compute time.
   */
  function observeBatches(
    members: readonly QueuedRequest[],
    queueMs: readonly number[],
    size: number,
    computeMs: number,
  ): void {
    if (!observer) return;
    if (!separately) {
      observer.onBatch({ size, requests: members.length, queueMs, computeMs });
      return;
    }
    const share = computeMs / members.length;
    members.forEach((m, i) => {
      observer.onBatch({ size: m.rows, requests: 1, queueMs: [queueMs[i] ?? 0], computeMs: share });
    });
  }

  function enqueue(
    inputs: TensorMap,
    outputNames: readonly string[] | undefined,
    signal: AbortSignal | undefined,
    runOptions: RunOptions | undefined,
    cacheKey: string | undefined,
  ): Promise<TensorMap> {
    const deadline =
      runOptions?.deadline ??
      (options.defaultTimeoutMs === undefined ? undefined : Date.now() + options.defaultTimeoutMs);
    // The clock is read only for a request that has a deadline.
    if (deadline !== undefined && deadline <= Date.now()) {
      return refuse(
        deadlineExceeded(`the request's deadline had already passed when it reached ${what}`),
      );
    }
    const priority = clampPriority(runOptions?.priority ?? 0, options.priorityLevels);
    return new Promise<TensorMap>((resolve, reject) => {
      // A literal, not `{...shape, ...}`: V8 adds properties after a spread one by one
      // into a slow object, which cost ~15 us per request here.
      const request: QueuedRequest = {
        rows: requestRows(inputs),
        // Batching off: nothing to key, it always runs alone.
        groupKey: undefined,
        keyed: passThrough,
        inputs,
        outputNames,
        signal,
        deadline,
        cacheKey,
        priority,
        seq: seq++,
        enqueuedAt: performance.now(),
        settled: false,
        resolve,
        reject,
        // Queued: leave the queue unrun. Running: only the result is dropped.
        onAbort: signal && (() => abort(request, signal)),
      };
      if (signal) addAbortListener(signal, request.onAbort as () => void);
      queue.push(request);
      if (deadline !== undefined) deadlined++;
      requestPump();
    });
  }

  function abort(request: QueuedRequest, signal: AbortSignal): void {
    if (unqueue(request)) requestPump();
    drop(request, abortReasonToError(signal));
  }

  return {
    inputs: model.inputs,
    outputs: model.outputs,
    get pending() {
      return queue.length + inFlightRequests;
    },
    run(inputs, outputNames, signal, runOptions) {
      if (disposed)
        return refuse(unavailable(`${what} is shutting down; retry on another version`));
      if (signal?.aborted) return refuse(abortReasonToError(signal));
      const key = cache ? responseCacheKey(inputs, outputNames) : undefined;
      if (cache && key !== undefined) {
        const hit = cache.get(key);
        observer?.onCache(hit !== undefined);
        if (hit !== undefined) {
          counters.cacheHits++;
          return Promise.resolve(hit);
        }
        counters.cacheMisses++;
      }
      if (queue.length >= maxQueueSize) {
        return refuse(
          resourceExhausted(
            `the queue of ${what} is full (max_queue_size ${maxQueueSize} requests); retry with backoff or raise max_queue_size in model.json`,
          ),
        );
      }
      return enqueue(inputs, outputNames, signal, runOptions, key);
    },
    stats(): BatcherStats {
      return {
        queueDepth: queue.length,
        inFlightBatches: running.size,
        ...counters,
        rejected: { ...rejected },
      };
    },
    async dispose() {
      disposed = true;
      timers.clear();
      const error = unavailable(`${what} was unloaded while the request was queued; retry`);
      for (const request of queue.removeWhere(() => true)) drop(request, error);
      deadlined = 0;
      reportedDepth = 0;
      observer?.onQueueDepth(0);
      await Promise.all(running);
      await model.dispose();
    },
  };
}

/** Most requests of one pass-through group (the worker pool's `MAX_RUNS_PER_MESSAGE`). */
const MAX_PASS_THROUGH_GROUP = 64;

function clampPriority(priority: number, levels: number | undefined): number {
  if (levels === undefined || levels <= 0) return priority;
  return Math.min(levels - 1, Math.max(0, Math.floor(priority)));
}
