import { raceAbort } from "../abort/race-abort.js";
import { abortReasonToError, internal, unavailable } from "../errors/inferd-error.js";
import type { TensorSpec } from "../tensor/host-tensor.js";
import type { LoadedModel, TensorMap } from "./model-runtime.js";
import { SessionInstance, type SessionInstanceOptions } from "./session-instance.js";

interface Job {
  readonly inputs: TensorMap;
  readonly outputNames: readonly string[];
  readonly signal: AbortSignal | undefined;
  readonly resolve: (out: TensorMap) => void;
  readonly reject: (error: Error) => void;
  onAbort?: () => void;
}

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
  readonly #queue: Job[] = [];
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
    return new Promise((resolve, reject) => {
      const job: Job = { inputs, outputNames, signal, resolve, reject };
      if (signal) {
        job.onAbort = () => this.#abort(job, signal);
        signal.addEventListener("abort", job.onAbort, { once: true });
      }
      this.#queue.push(job);
      this.#dispatch();
    });
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
      const job = this.#queue.shift() as Job;
      const instance = this.#idle.shift() as SessionInstance;
      this.#running++;
      instance.run(job.inputs, job.outputNames).then(
        (outputs) => this.#finish(job, instance, () => job.resolve(outputs)),
        (error: Error) => this.#finish(job, instance, () => job.reject(error)),
      );
    }
    this.#checkDrained();
  }

  #finish(job: Job, instance: SessionInstance, settle: () => void): void {
    this.#running--;
    if (job.onAbort) job.signal?.removeEventListener("abort", job.onAbort);
    // An aborted job was already rejected; settling again is a no-op, so the result is dropped.
    settle();
    if (!instance.dead) this.#idle.push(instance);
    this.#dispatch();
  }

  #abort(job: Job, signal: AbortSignal): void {
    const index = this.#queue.indexOf(job);
    if (index >= 0) this.#queue.splice(index, 1);
    job.reject(abortReasonToError(signal));
    this.#checkDrained();
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
    for (const job of this.#queue.splice(0)) job.reject(this.#broken);
  }

  #checkDrained(): void {
    if (this.#disposing && this.pending === 0 && this.#replacing === 0) this.#drained?.();
  }
}
