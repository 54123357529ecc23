import { abortReasonToError, internal, unavailable } from "../errors/inferd-error.js";
import type { TensorSpec } from "../tensor/host-tensor.js";
import type { InProcessSession } from "./in-process-session.js";
import type { ExecutionChoice, LoadedModel, RunOptions, TensorMap } from "./model-runtime.js";
import { type RunJob, RunQueue, settleRun } from "./run-queue.js";

/**
 * A {@link LoadedModel} over one session on the main thread. ORT computes each run
 * synchronously inside a `setImmediate`, so runs never overlap; up to `runsPerTurn`
 * jobs run at once, so their runs share one event-loop turn, back to back, and their
 * answers leave together after the last (one run per turn caps throughput at one call
 * per loop iteration). Later jobs wait for a free slot, in arrival order.
 * Otherwise it keeps the worker pool's contract:
 * an abort before the run rejects without running, a failed run rejects `internal`
 * with the worker's message, dispose waits for queued and running jobs.
 */
export class InlineModel implements LoadedModel {
  readonly #queue = new RunQueue(() => this.#checkDrained());
  #running = 0;
  /** Runs of this turn that finished, answered together by {@link #flush}. */
  #finished: (() => void)[] = [];
  #flushAt: NodeJS.Immediate | undefined;
  #disposing = false;
  #disposed: Promise<void> | undefined;
  #drained: (() => void) | undefined;

  /** Takes ownership of `session`: {@link dispose} releases it. */
  constructor(
    private readonly session: InProcessSession,
    readonly execution: ExecutionChoice,
  ) {}

  /** How many runs may share one event-loop turn (`execution.concurrentRuns`). */
  get #runsPerTurn(): number {
    return Math.max(1, this.execution.concurrentRuns);
  }

  get inputs(): readonly TensorSpec[] {
    return this.session.inputs;
  }

  get outputs(): readonly TensorSpec[] {
    return this.session.outputs;
  }

  get pending(): number {
    return this.#queue.length + this.#running;
  }

  run(
    inputs: TensorMap,
    outputNames: readonly string[] = [],
    signal?: AbortSignal,
    options?: RunOptions,
  ): Promise<TensorMap> {
    if (this.#disposing) return Promise.reject(unavailable("the model is being unloaded"));
    if (signal?.aborted) return Promise.reject(abortReasonToError(signal));
    const run = this.#queue.enqueue(inputs, outputNames, signal, options?.callerHandlesAbort);
    this.#next();
    return run;
  }

  /** Stops taking runs, waits for queued and running ones, then releases the session. */
  dispose(): Promise<void> {
    this.#disposed ??= this.#dispose();
    return this.#disposed;
  }

  async #dispose(): Promise<void> {
    this.#disposing = true;
    if (this.pending > 0) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
      });
    }
    await this.session.release();
  }

  #next(): void {
    this.#checkDrained();
    // Every run started before a turn's check phase runs in it: at most runsPerTurn.
    let started = false;
    while (this.#running < this.#runsPerTurn) {
      const job = this.#queue.take();
      if (!job) break;
      this.#running++;
      started = true;
      this.session.run(job.inputs, job.outputNames).then(
        (outputs) => this.#finish(job, () => job.resolve(outputs)),
        (error: unknown) => this.#finish(job, () => job.reject(runFailed(error))),
      );
    }
    // ORT queued each run's immediate synchronously: a flush queued now runs after them
    // all. Moved behind later runs only while none has finished, so it always comes. A
    // lone run (batches one at a time, c=1) needs none: it is answered at once.
    if (started && this.#running > 1 && this.#finished.length === 0) {
      clearImmediate(this.#flushAt);
      this.#flushAt = setImmediate(() => this.#flush());
    }
  }

  /**
   * A run finished while a flush is queued waits for it: Node drains microtasks after
   * each immediate, so answering at once would run a whole response path between two
   * ORT runs of one turn. Held, the turn's runs go back to back, and their answers leave
   * together. A run that finishes with no flush queued is answered at once.
   */
  #finish(job: RunJob, answer: () => void): void {
    if (this.#flushAt !== undefined) {
      this.#finished.push(() => settleRun(job, answer));
      return;
    }
    this.#running--;
    settleRun(job, answer);
    this.#next();
  }

  #flush(): void {
    this.#flushAt = undefined;
    const finished = this.#finished;
    this.#finished = [];
    this.#running -= finished.length;
    for (const answer of finished) answer();
    this.#next();
  }

  #checkDrained(): void {
    if (this.#disposing && this.pending === 0) this.#drained?.();
  }
}

/** The error the session worker answers for a failed run (see `SessionInstance`), word for word. */
function runFailed(error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  return internal(`onnxruntime failed to run the model: ${message}`, new Error(message));
}
