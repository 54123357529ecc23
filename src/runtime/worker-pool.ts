import { raceAbort } from "../abort/race-abort.js";
import { abortReasonToError, internal, unavailable } from "../errors/inferd-error.js";
import type { TensorSpec } from "../tensor/host-tensor.js";
import type { LoadedModel, RunOptions, SeparateRun, TensorMap } from "./model-runtime.js";
import { type RunJob, RunQueue, settleRun } from "./run-queue.js";
import {
  type RunResult,
  SessionInstance,
  type SessionInstanceOptions,
} from "./session-instance.js";

/**
 * Most runs one message hands a worker. Runs that queued while every worker was busy
 * leave together, one `postMessage` each way for the group, because for a model whose
 * run takes microseconds the hand-off costs more than the run; the bound keeps one
 * group from holding its results back too long.
 */
export const MAX_RUNS_PER_MESSAGE = 64;

/** How the pool starts (and restarts) its instances. */
export interface WorkerPoolOptions extends Omit<SessionInstanceOptions, "onCrash"> {
  instanceCount: number;
  signal?: AbortSignal;
}

/**
 * A {@link LoadedModel} over N session workers: each run goes to an idle instance,
 * or waits in a FIFO queue when all are busy; the runs queued meanwhile leave in
 * groups, one message per idle instance (see {@link MAX_RUNS_PER_MESSAGE}), each run
 * still separate. A crashed worker fails its run with `internal` and is replaced
 * while the others keep serving; the other runs of its group are retried one per
 * message, so that only the run that crashed it fails.
 */
export class WorkerPool implements LoadedModel {
  readonly #idle: SessionInstance[] = [];
  readonly #queue = new RunQueue(() => this.#checkDrained());
  #inputs: readonly TensorSpec[] = [];
  #outputs: readonly TensorSpec[] = [];
  #running = 0;
  #live = 0;
  #replacing = 0;
  #disposing = false;
  #disposed: Promise<void> | undefined;
  #broken: Error | undefined;
  #drained: (() => void) | undefined;

  private constructor(private readonly options: WorkerPoolOptions) {}

  /**
   * Starts `instanceCount` workers and resolves once every session is loaded.
   * @throws Error naming the model path when any session fails to load (the others
   *   are ended); the signal's domain error when aborted.
   */
  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    const instances = Array.from({ length: options.instanceCount }, () => pool.#spawn());
    try {
      const specs = await raceAbort(
        Promise.all(instances.map((i) => i.ready)),
        options.signal,
        abortReasonToError,
      );
      const first = specs[0];
      if (!first) throw new Error(`instanceCount must be at least 1 (model ${options.modelPath})`);
      pool.#inputs = first.inputs;
      pool.#outputs = first.outputs;
    } catch (error) {
      await Promise.all(instances.map((i) => i.abandon()));
      throw error;
    }
    pool.#idle.push(...instances);
    pool.#live = instances.length;
    return pool;
  }

  get inputs(): readonly TensorSpec[] {
    return this.#inputs;
  }

  get outputs(): readonly TensorSpec[] {
    return this.#outputs;
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
    if (this.#broken) return Promise.reject(this.#broken);
    if (signal?.aborted) return Promise.reject(abortReasonToError(signal));
    const run = this.#queue.enqueue(inputs, outputNames, signal, options?.callerHandlesAbort);
    this.#dispatch();
    return run;
  }

  /**
   * Queues several runs at once, then dispatches: an idle instance takes them in one
   * message (see {@link LoadedModel.runSeparately}). Each run keeps `run`'s contract.
   */
  runSeparately(runs: readonly SeparateRun[]): Promise<TensorMap>[] {
    const queued = runs.map((r) => {
      if (this.#disposing) return Promise.reject(unavailable("the model is being unloaded"));
      if (this.#broken) return Promise.reject(this.#broken);
      if (r.signal?.aborted) return Promise.reject(abortReasonToError(r.signal));
      return this.#queue.enqueue(r.inputs, r.outputNames ?? [], r.signal, r.callerHandlesAbort);
    });
    this.#dispatch();
    return queued;
  }

  /** Stops taking runs, waits for queued and running ones, then ends every worker. */
  dispose(): Promise<void> {
    this.#disposed ??= this.#dispose();
    return this.#disposed;
  }

  async #dispose(): Promise<void> {
    this.#disposing = true;
    if (this.pending > 0 || this.#replacing > 0) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
      });
    }
    await Promise.all(this.#idle.splice(0).map((instance) => instance.close()));
  }

  #spawn(): SessionInstance {
    const { instanceCount: _, signal: __, ...rest } = this.options;
    return SessionInstance.spawn({
      ...rest,
      onCrash: (instance, error) => this.#onCrash(instance, error),
    });
  }

  #dispatch(): void {
    while (this.#queue.length > 0 && this.#idle.length > 0) {
      const jobs = this.#takeGroup();
      if (jobs.length === 0) break; // every queued run had aborted
      const instance = this.#idle.shift() as SessionInstance;
      this.#running += jobs.length;
      instance.run(jobs).then(
        (results) => this.#finish(jobs, instance, results),
        (error: Error) => this.#finish(jobs, instance, error),
      );
    }
    this.#checkDrained();
  }

  /** The next group for one idle instance: an equal share of the queue, or one retried run. */
  #takeGroup(): RunJob[] {
    const share = Math.ceil(this.#queue.length / this.#idle.length);
    const size = Math.min(share, MAX_RUNS_PER_MESSAGE);
    const jobs: RunJob[] = [];
    while (jobs.length < size) {
      const next = this.#queue.peek();
      if (next === undefined || (jobs.length > 0 && next.solo)) break;
      jobs.push(this.#queue.take() as RunJob);
      if (next.solo) break;
    }
    return jobs;
  }

  /**
   * Answers a group: each run its result; on a crash, a lone run its error, and a
   * group's runs go back to the head of the queue to run one per message.
   */
  #finish(jobs: RunJob[], instance: SessionInstance, outcome: RunResult[] | Error): void {
    this.#running -= jobs.length;
    if (outcome instanceof Error && jobs.length > 1 && !this.#disposing) {
      for (const job of jobs) job.solo = true;
      this.#queue.requeue(jobs);
    } else {
      jobs.forEach((job, i) => {
        const result = outcome instanceof Error ? { error: outcome } : outcome[i];
        settleRun(job, () =>
          result?.error === undefined
            ? job.resolve(result?.outputs ?? {})
            : job.reject(result.error),
        );
      });
    }
    if (!instance.dead) this.#idle.push(instance);
    if (this.#broken) this.#queue.rejectAll(this.#broken);
    this.#dispatch();
  }

  #onCrash(instance: SessionInstance, error: Error): void {
    this.#live--;
    const at = this.#idle.indexOf(instance);
    if (at >= 0) this.#idle.splice(at, 1);
    if (this.#disposing) {
      this.#checkDrained();
      return;
    }
    this.#replacing++;
    const fresh = this.#spawn();
    fresh.ready.then(
      () => {
        this.#replacing--;
        this.#live++;
        this.#idle.push(fresh);
        this.#dispatch();
      },
      (startError: Error) => {
        this.#replacing--;
        if (this.#live === 0 && this.#replacing === 0) this.#breakDown(error, startError);
        this.#checkDrained();
      },
    );
  }

  /** No worker left and none can start: fail what is queued and every later run. */
  #breakDown(crash: Error, startError: Error): void {
    this.#broken = internal(
      `every session worker for ${this.options.modelPath} crashed and none could restart: ${startError.message}`,
      crash,
    );
    this.#queue.rejectAll(this.#broken);
  }

  #checkDrained(): void {
    if (this.#disposing && this.pending === 0 && this.#replacing === 0) this.#drained?.();
  }
}
