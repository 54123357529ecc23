import { internal } from "../errors/inferd-error.js";
import type { TensorSpec } from "../tensor/host-tensor.js";
import type { SessionOptions, TensorMap } from "./model-runtime.js";
import type { WorkerReply } from "./worker-envelope.js";
import {
  type FromSessionWorker,
  prepareTransfer,
  type SessionRun,
  type SessionWorkerData,
  type ToSessionWorker,
} from "./worker-protocol.js";

/** What one run of a group came to: its outputs, or its own error (`internal`). */
export type RunResult =
  | { readonly outputs: TensorMap; readonly error?: undefined }
  | { readonly error: Error };

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
 * One worker thread holding one ORT session, running one group of runs at a time. The pool
 * decides what runs where; this class only speaks the worker protocol, over the
 * shared lifecycle of {@link WorkerThread}.
 */
export class SessionInstance {
  readonly #thread: WorkerThread<ToSessionWorker, FromSessionWorker>;
  #nextId = 0;
  #inFlight:
    | { id: number; resolve: (out: RunResult[]) => void; reject: (e: Error) => void }
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

  /**
   * Runs a group of separate runs in one message each way, one after the other in the
   * worker; resolves with one result per run, in order. A lone run's input buffers are
   * transferred to the worker; a group's are copied first (exactly their bytes, not the
   * whole buffer a decoded view may share), and the copies transferred. Rejects (every
   * run at once) when the worker crashes or the inputs cannot be posted.
   */
  run(runs: readonly SessionRun[]): Promise<RunResult[]> {
    if (this.#inFlight) throw new Error("SessionInstance.run called while busy");
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      try {
        const transfer: ArrayBuffer[] = [];
        const posted = runs.map(({ inputs, outputNames }) => {
          // A group's inputs go as exact-size copies: when its worker crashes, the runs
          // it did not answer are posted again (see WorkerPool), so they must stay intact.
          const prepared = prepareTransfer(runs.length === 1 ? inputs : ownCopies(inputs));
          transfer.push(...prepared.transfer);
          return { inputs: prepared.tensors, outputNames };
        });
        this.#inFlight = { id, resolve, reject };
        this.#thread.post({ type: "run", id, runs: posted }, transfer);
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
    job.resolve(
      message.outcomes.map((outcome) =>
        outcome.error === undefined
          ? { outputs: outcome.outputs }
          : {
              error: internal(
                `onnxruntime failed to run the model: ${outcome.error}`,
                new Error(outcome.error),
              ),
            },
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

/** The tensors with their numeric data copied into buffers of their own. */
function ownCopies(tensors: TensorMap): TensorMap {
  const out: TensorMap = {};
  for (const name in tensors) {
    const tensor = tensors[name] as TensorMap[string];
    const data = tensor.data;
    out[name] = Array.isArray(data) ? tensor : { ...tensor, data: data.slice() as typeof data };
  }
  return out;
}
