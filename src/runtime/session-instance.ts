import { internal } from "../errors/inferd-error.js";
import type { TensorSpec } from "../tensor/host-tensor.js";
import type { SessionOptions, TensorMap } from "./model-runtime.js";
import type { WorkerReply } from "./worker-envelope.js";
import {
  type FromSessionWorker,
  prepareTransfer,
  type SessionWorkerData,
  type ToSessionWorker,
} from "./worker-protocol.js";
import { type WorkerEnd, WorkerThread } from "./worker-thread.js";

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
 * decides what runs where; this class only speaks the worker protocol, over the
 * shared lifecycle of {@link WorkerThread}.
 */
export class SessionInstance {
  readonly #thread: WorkerThread<ToSessionWorker, FromSessionWorker>;
  #nextId = 0;
  #inFlight:
    | { id: number; resolve: (out: TensorMap) => void; reject: (e: Error) => void }
    | undefined;

  /**
   * Resolves with the model's metadata once its session is loaded, or rejects with an
   * Error naming the model path (load error, worker died).
   */
  readonly ready: Promise<{ inputs: TensorSpec[]; outputs: TensorSpec[] }>;

  private constructor(private readonly options: SessionInstanceOptions) {
    const workerData: SessionWorkerData = {
      modelPath: options.modelPath,
      session: options.session,
    };
    this.#thread = new WorkerThread({
      url: options.workerUrl,
      workerData,
      name: "session worker",
      closeTimeoutMs: 5_000,
      loadSettleTimeoutMs: 10_000,
      loadFailed: (message) => new Error(message),
      diedWhileLoading: (error) =>
        new Error(`session worker for ${options.modelPath} died while loading: ${error.message}`, {
          cause: error,
        }),
    });
    this.ready = this.#thread.ready.then((m) => ({
      inputs: [...m.inputs],
      outputs: [...m.outputs],
    }));
    // A load abandoned by the pool (aborted, or a sibling failed) must not surface as unhandled.
    this.ready.catch(() => undefined);
    this.#thread.listen({ message: (m) => this.#settle(m), end: (end) => this.#onEnd(end) });
  }

  /** Starts a worker; see {@link SessionInstance.ready}. */
  static spawn(options: SessionInstanceOptions): SessionInstance {
    return new SessionInstance(options);
  }

  /** True once the worker has exited, for whatever reason. */
  get dead(): boolean {
    return this.#thread.dead;
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
        this.#inFlight = { id, resolve, reject };
        this.#thread.post(
          { type: "run", id, inputs: prepared.tensors, outputNames },
          prepared.transfer,
        );
      } catch (error) {
        // Data that cannot be posted (not a HostTensor); the worker never saw the job.
        this.#inFlight = undefined;
        reject(internal(`cannot send the inputs to the session worker: ${String(error)}`, error));
      }
    });
  }

  /** Releases the session and ends the worker; call only when not busy. */
  close(): Promise<void> {
    return this.#thread.close();
  }

  /**
   * Ends a worker whose load was abandoned (aborted, or a sibling failed), once its
   * load has settled (see {@link WorkerThread.abandon}); a hung load is cut after 10 s.
   */
  abandon(): Promise<void> {
    return this.#thread.abandon();
  }

  #settle(message: WorkerReply<FromSessionWorker>): void {
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

  #onEnd(end: WorkerEnd): void {
    const job = this.#inFlight;
    this.#inFlight = undefined;
    job?.reject(
      internal(
        `the session worker for ${this.options.modelPath} crashed during the run: ${end.error.message}`,
        end.error,
      ),
    );
    if (!this.#thread.closing && !end.whileLoading) this.options.onCrash(this, end.error);
  }
}
