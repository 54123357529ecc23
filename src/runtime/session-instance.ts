import type { Worker } from "node:worker_threads";
import { internal } from "../errors/inferd-error.js";
import type { TensorSpec } from "../tensor/host-tensor.js";
import type { SessionOptions, TensorMap } from "./model-runtime.js";
import { startWorker } from "./start-worker.js";
import {
  type FromSessionWorker,
  prepareTransfer,
  type SessionWorkerData,
  type ToSessionWorker,
} from "./worker-protocol.js";

/** Where to start one session worker. */
export interface SessionInstanceOptions {
  /** The worker script: a `.ts` file runs with tsx registered, a `.js` file as is. */
  workerUrl: URL;
  modelPath: string;
  session: SessionOptions;
  /** Called once when the worker dies without being asked to (after the in-flight run failed). */
  onCrash: (instance: SessionInstance, error: Error) => void;
}

/**
 * One worker thread holding one ORT session, running one job at a time. The pool
 * decides what runs where; this class only speaks the worker protocol.
 */
export class SessionInstance {
  #worker: Worker;
  #nextId = 0;
  #inFlight:
    | { id: number; resolve: (out: TensorMap) => void; reject: (e: Error) => void }
    | undefined;
  #closing = false;
  #dead = false;
  #onReady: ((specs: { inputs: TensorSpec[]; outputs: TensorSpec[] }) => void) | undefined;
  #onLoadError: ((error: Error) => void) | undefined;
  #onClosed: (() => void) | undefined;

  private constructor(private readonly options: SessionInstanceOptions) {
    const workerData: SessionWorkerData = {
      modelPath: options.modelPath,
      session: options.session,
    };
    this.#worker = startWorker(options.workerUrl, { workerData });
    // A load abandoned by the pool (aborted, or a sibling failed) must not surface as unhandled.
    this.ready.catch(() => undefined);
    this.#worker.on("message", (m: FromSessionWorker) => this.#onMessage(m));
    this.#worker.on("error", (error) => this.#onExit(error));
    this.#worker.on("exit", (code) =>
      this.#onExit(new Error(`session worker exited with code ${code}`)),
    );
  }

  /**
   * Starts a worker; `ready` resolves with the model's metadata once its session is
   * loaded, or rejects with an Error naming the model path (load error, worker died).
   */
  static spawn(options: SessionInstanceOptions): SessionInstance {
    return new SessionInstance(options);
  }

  readonly ready: Promise<{ inputs: TensorSpec[]; outputs: TensorSpec[] }> = new Promise(
    (resolve, reject) => {
      this.#onReady = resolve;
      this.#onLoadError = reject;
    },
  );

  /** True once the worker has exited, for whatever reason. */
  get dead(): boolean {
    return this.#dead;
  }

  get busy(): boolean {
    return this.#inFlight !== undefined;
  }

  /** Runs one job; the input buffers are transferred to the worker. */
  run(inputs: TensorMap, outputNames: readonly string[]): Promise<TensorMap> {
    if (this.#inFlight) throw new Error("SessionInstance.run called while busy");
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      try {
        const prepared = prepareTransfer(inputs);
        const message: ToSessionWorker = { type: "run", id, inputs: prepared.tensors, outputNames };
        this.#inFlight = { id, resolve, reject };
        this.#worker.postMessage(message, prepared.transfer);
      } catch (error) {
        // Data that cannot be posted (not a HostTensor); the worker never saw the job.
        this.#inFlight = undefined;
        reject(internal(`cannot send the inputs to the session worker: ${String(error)}`, error));
      }
    });
  }

  /** Releases the session and ends the worker; call only when not busy. */
  async close(): Promise<void> {
    if (this.#dead) return;
    this.#closing = true;
    const closed = new Promise<void>((resolve) => {
      this.#onClosed = resolve;
    });
    this.#worker.postMessage({ type: "close" } satisfies ToSessionWorker);
    await Promise.race([closed, new Promise((r) => setTimeout(r, 5_000).unref())]);
    await this.#worker.terminate();
  }

  /**
   * Ends a worker whose load was abandoned (aborted, or a sibling failed), once its
   * load has settled: terminating a worker while ORT creates its session aborts the
   * whole process (`terminate called after throwing an instance of 'Napi::Error'`).
   * A loaded session is released the normal way; a hung load is cut after 10 s.
   */
  async abandon(): Promise<void> {
    this.#closing = true;
    const settled = this.ready.then(
      () => "ready" as const,
      () => "failed" as const,
    );
    const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 10_000).unref());
    if ((await Promise.race([settled, timeout])) === "ready") await this.close();
    else await this.#worker.terminate();
  }

  #onMessage(message: FromSessionWorker): void {
    switch (message.type) {
      case "ready":
        this.#onReady?.({ inputs: [...message.inputs], outputs: [...message.outputs] });
        this.#clearLoadCallbacks();
        return;
      case "load-error":
        this.#closing = true;
        this.#onLoadError?.(new Error(message.message));
        this.#clearLoadCallbacks();
        return;
      case "closed":
        this.#onClosed?.();
        return;
      case "result":
      case "run-error":
        this.#settle(message);
    }
  }

  #settle(message: Extract<FromSessionWorker, { type: "result" | "run-error" }>): void {
    const job = this.#inFlight;
    if (job?.id !== message.id) return;
    this.#inFlight = undefined;
    if (message.type === "result") job.resolve(message.outputs);
    else
      job.reject(
        internal(
          `onnxruntime failed to run the model: ${message.message}`,
          new Error(message.message),
        ),
      );
  }

  #onExit(error: Error): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#onClosed?.();
    const wasLoading = this.#onLoadError !== undefined;
    this.#onLoadError?.(
      new Error(
        `session worker for ${this.options.modelPath} died while loading: ${error.message}`,
        { cause: error },
      ),
    );
    this.#clearLoadCallbacks();
    const job = this.#inFlight;
    this.#inFlight = undefined;
    job?.reject(
      internal(
        `the session worker for ${this.options.modelPath} crashed during the run: ${error.message}`,
        error,
      ),
    );
    if (!this.#closing && !wasLoading) this.options.onCrash(this, error);
  }

  #clearLoadCallbacks(): void {
    this.#onReady = undefined;
    this.#onLoadError = undefined;
  }
}
