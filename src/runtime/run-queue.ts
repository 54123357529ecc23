import { addAbortListener, removeAbortListener } from "../abort/owned-abort.js";
import { abortReasonToError } from "../errors/inferd-error.js";
import type { TensorMap } from "./model-runtime.js";

/** One queued run of a {@link LoadedModel}: its inputs and how to answer it. */
export interface RunJob {
  readonly inputs: TensorMap;
  readonly outputNames: readonly string[];
  readonly signal: AbortSignal | undefined;
  readonly resolve: (out: TensorMap) => void;
  readonly reject: (error: Error) => void;
  onAbort?: () => void;
  /** Set on a run retried after its group's worker crashed: it goes to a worker alone. */
  solo?: boolean;
}

/**
 * The FIFO of runs waiting for a session, shared by the worker pool and the inline
 * model: an abort while queued takes the run out unrun, and an abort while running
 * rejects it at once (its result is dropped when it comes). Either way the caller
 * hears `onAbort` afterwards, to notice a drain that this completed.
 */
export class RunQueue {
  readonly #jobs: RunJob[] = [];

  constructor(private readonly onAbort: () => void) {}

  get length(): number {
    return this.#jobs.length;
  }

  /**
   * Queues a run; the caller then takes jobs with {@link take} when a session is free.
   * `callerHandlesAbort` (see `RunOptions`): no listener; an aborted run is only
   * skipped, rejected, when it reaches the head.
   */
  enqueue(
    inputs: TensorMap,
    outputNames: readonly string[],
    signal: AbortSignal | undefined,
    callerHandlesAbort = false,
  ): Promise<TensorMap> {
    return new Promise((resolve, reject) => {
      const job: RunJob = { inputs, outputNames, signal, resolve, reject };
      if (signal && !callerHandlesAbort) {
        job.onAbort = () => this.#abort(job, signal);
        addAbortListener(signal, job.onAbort);
      }
      this.#jobs.push(job);
    });
  }

  /** The oldest queued run, left queued. */
  peek(): RunJob | undefined {
    this.#skipAborted();
    return this.#jobs[0];
  }

  /** The oldest queued run, now the caller's to run and {@link settle}. */
  take(): RunJob | undefined {
    this.#skipAborted();
    return this.#jobs.shift();
  }

  /** Rejects the head's runs aborted without a listener to take them out, then tells the owner. */
  #skipAborted(): void {
    let skipped = false;
    for (let job = this.#jobs[0]; job?.signal?.aborted; job = this.#jobs[0]) {
      this.#jobs.shift();
      job.reject(abortReasonToError(job.signal));
      skipped = true;
    }
    if (skipped) this.onAbort();
  }

  /**
   * Puts taken runs back at the head, in their order, to run again (their group's
   * worker crashed before answering); a run an abort already rejected is dropped.
   */
  requeue(jobs: readonly RunJob[]): void {
    const live: RunJob[] = [];
    for (const job of jobs) {
      // A no-op for a run its listener already rejected.
      if (job.signal?.aborted) job.reject(abortReasonToError(job.signal));
      else live.push(job);
    }
    this.#jobs.unshift(...live);
  }

  /** Rejects every queued run with `error` (nothing can run them any more). */
  rejectAll(error: Error): void {
    for (const job of this.#jobs.splice(0)) job.reject(error);
  }

  #abort(job: RunJob, signal: AbortSignal): void {
    const index = this.#jobs.indexOf(job);
    if (index >= 0) this.#jobs.splice(index, 1);
    job.reject(abortReasonToError(signal));
    this.onAbort();
  }
}

/**
 * Answers a taken run: its abort listener goes first, then `answer` resolves or
 * rejects it (a no-op for a run an abort already rejected: its result is dropped).
 */
export function settleRun(job: RunJob, answer: () => void): void {
  if (job.onAbort && job.signal) removeAbortListener(job.signal, job.onAbort);
  answer();
}
