import { raceAbort } from "../abort/race-abort.js";
import { abortReasonToError, internal, unavailable } from "../errors/inferd-error.js";
import type { TensorSpec } from "../tensor/host-tensor.js";
import type { LoadedModel, TensorMap } from "./model-runtime.js";
import { type RunJob, RunQueue, settleRun } from "./run-queue.js";
import { SessionInstance, type SessionInstanceOptions } from "./session-instance.js";

/** How the pool starts (and restarts) its instances. */
export interface WorkerPoolOptions extends Omit<SessionInstanceOptions, "onCrash"> {
  instanceCount: number;
  signal?: AbortSignal;
}

/**
 * A {@link LoadedModel} over N session workers: each run goes to an idle instance,
 * or waits in a FIFO queue when all are busy. A crashed worker fails its run with
 * `internal` and is replaced while the others keep serving.
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
  ): Promise<TensorMap> {
    if (this.#disposing) return Promise.reject(unavailable("the model is being unloaded"));
    if (this.#broken) return Promise.reject(this.#broken);
    if (signal?.aborted) return Promise.reject(abortReasonToError(signal));
    const run = this.#queue.enqueue(inputs, outputNames, signal);
    this.#dispatch();
    return run;
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
      const job = this.#queue.take() as RunJob;
      const instance = this.#idle.shift() as SessionInstance;
      this.#running++;
      instance.run(job.inputs, job.outputNames).then(
        (outputs) => this.#finish(job, instance, () => job.resolve(outputs)),
        (error: Error) => this.#finish(job, instance, () => job.reject(error)),
      );
    }
    this.#checkDrained();
  }

  #finish(job: RunJob, instance: SessionInstance, answer: () => void): void {
    this.#running--;
    settleRun(job, answer);
    if (!instance.dead) this.#idle.push(instance);
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
