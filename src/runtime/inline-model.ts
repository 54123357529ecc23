import { abortReasonToError, internal, unavailable } from "../errors/inferd-error.js";
import type { TensorSpec } from "../tensor/host-tensor.js";
import type { InProcessSession } from "./in-process-session.js";
import type { ExecutionChoice, LoadedModel, RunOptions, TensorMap } from "./model-runtime.js";
import { type RunJob, RunQueue, settleRun } from "./run-queue.js";

/**
 * A {@link LoadedModel} over one session on the main thread. ORT computes each run
 * synchronously inside a `setImmediate`, so runs never overlap; up to `runsPerTurn`
 * jobs run at once, so their runs share one event-loop turn and their answers leave
 * in one write pass (one run per turn caps throughput at one call per loop
 * iteration). Later jobs wait for a free slot, in arrival order.
 * Otherwise it keeps the worker pool's contract:
 * an abort before the run rejects without running, a failed run rejects `internal`
 * with the worker's message, dispose waits for queued and running jobs.
 */
export class InlineModel implements LoadedModel {
  readonly #queue = new RunQueue(() => this.#checkDrained());
  #running = 0;
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
    while (this.#running < this.#runsPerTurn) {
      const job = this.#queue.take();
      if (!job) return;
      this.#running++;
      this.session.run(job.inputs, job.outputNames).then(
        (outputs) => this.#finish(job, () => job.resolve(outputs)),
        (error: unknown) => this.#finish(job, () => job.reject(runFailed(error))),
      );
    }
  }

  #finish(job: RunJob, answer: () => void): void {
    this.#running--;
    settleRun(job, answer);
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
