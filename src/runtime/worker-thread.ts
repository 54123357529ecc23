import type { TransferListItem, Worker } from "node:worker_threads";
import { abortReasonToError, internal } from "../errors/inferd-error.js";
import { startWorker } from "./start-worker.js";
import type {
  WorkerCloseMessage,
  WorkerMessage,
  WorkerReadyMessage,
  WorkerReply,
} from "./worker-envelope.js";

/** How to start one worker and what its errors say. */
export interface WorkerThreadOptions {
  /** The worker script: a `.ts` file runs with tsx registered, a `.js` file as is. */
  readonly url: URL;
  readonly workerData: unknown;
  /** Names the worker in errors ("session worker"). */
  readonly name: string;
  /** How long {@link WorkerThread.close} waits for "closed" before terminating anyway. */
  readonly closeTimeoutMs: number;
  /** How long an abandoned load may take to settle before it is cut; unset: as long as it takes. */
  readonly loadSettleTimeoutMs?: number;
  /** The error `ready` rejects with when the worker answers "load-error". */
  readonly loadFailed: (message: string) => Error;
  /** The error `ready` rejects with when the worker ends before its load settled. */
  readonly diedWhileLoading: (error: Error) => Error;
}

/** How a worker ended: told once, on its first 'error' or 'exit'. */
export interface WorkerEnd {
  /** The worker's uncaught error, or an Error giving its exit code. */
  readonly error: Error;
  /** True on 'exit', false on an uncaught error ('error'). */
  readonly exited: boolean;
  /** True when it ended before its load settled (`ready` rejected with it then). */
  readonly whileLoading: boolean;
}

/** What the owner of a loaded worker hears from it. */
export interface WorkerThreadHandlers<From extends WorkerMessage> {
  /** Every message after "ready" that is not about the lifecycle. */
  readonly message: (message: WorkerReply<From>) => void;
  readonly end: (end: WorkerEnd) => void;
}

/**
 * The parent's side of one worker thread speaking the {@link WorkerLifecycleMessage}
 * envelope: starts it, settles `ready` from its first message (or its death), closes
 * it, and never terminates it while it may be loading: terminating a worker while ORT
 * creates its session aborts the whole process (`terminate called after throwing an
 * instance of 'Napi::Error'`). The worker's own jobs are its owner's business.
 */
export class WorkerThread<To extends WorkerMessage, From extends WorkerMessage> {
  readonly #worker: Worker;
  readonly #options: WorkerThreadOptions;
  #state: "loading" | "ready" | "failed" = "loading";
  #closing = false;
  #end: WorkerEnd | undefined;
  #handlers: WorkerThreadHandlers<From> | undefined;
  #onClosed: (() => void) | undefined;
  readonly #settleLoad: Settle<WorkerReadyMessage<From>>;

  /**
   * The worker's "ready" message; rejects with `loadFailed` on "load-error", with
   * `diedWhileLoading` when it ends first, internal when it says anything else first.
   */
  readonly ready: Promise<WorkerReadyMessage<From>>;

  constructor(options: WorkerThreadOptions) {
    this.#options = options;
    let settle: Settle<WorkerReadyMessage<From>> | undefined;
    this.ready = new Promise((resolve, reject) => {
      settle = { resolve, reject };
    });
    this.#settleLoad = settle as Settle<WorkerReadyMessage<From>>;
    // A load nobody waits for any more (aborted, a sibling failed) must not surface as unhandled.
    this.ready.catch(() => undefined);
    this.#worker = startWorker(options.url, { workerData: options.workerData });
    this.#worker.on("message", (message: From) => this.#onMessage(message));
    this.#worker.on("error", (error) => this.#onEnd(error, false));
    this.#worker.on("exit", (code) =>
      this.#onEnd(new Error(`${options.name} exited with code ${code}`), true),
    );
  }

  /** True once the worker has ended, for whatever reason. */
  get dead(): boolean {
    return this.#end !== undefined;
  }

  /** True once its end was asked for (close, abandon) or its load failed: an end then is no crash. */
  get closing(): boolean {
    return this.#closing;
  }

  /** Hands the worker's replies and its end to `handlers`; told at once when it already ended. */
  listen(handlers: WorkerThreadHandlers<From>): void {
    this.#handlers = handlers;
    if (this.#end !== undefined) handlers.end(this.#end);
  }

  /** Posts `message`, transferring `transfer`; throws what `postMessage` throws (uncloneable data). */
  post(message: To, transfer: readonly TransferListItem[] = []): void {
    this.#worker.postMessage(message, transfer);
  }

  /** Asks a loaded worker to release its session, then ends it (after `closeTimeoutMs` at most). */
  async close(): Promise<void> {
    if (this.dead) return;
    this.#closing = true;
    const closed = new Promise<void>((resolve) => {
      this.#onClosed = resolve;
    });
    this.#worker.postMessage({ type: "close" } satisfies WorkerCloseMessage);
    await Promise.race([closed, sleep(this.#options.closeTimeoutMs)]);
    await this.#worker.terminate();
  }

  /**
   * Ends a worker whose load is no longer wanted, once that load has settled (or after
   * `loadSettleTimeoutMs`): a loaded session is released the normal way.
   */
  async abandon(): Promise<void> {
    this.#closing = true;
    const settled = this.ready.then(
      () => "ready" as const,
      () => "failed" as const,
    );
    const timeoutMs = this.#options.loadSettleTimeoutMs;
    const cut = timeoutMs === undefined ? [] : [sleep(timeoutMs).then(() => "timeout" as const)];
    if ((await Promise.race([settled, ...cut])) === "ready") await this.close();
    else await this.#worker.terminate();
  }

  /**
   * Resolves with "ready". On a failed load, or when `signal` aborts, the worker is
   * abandoned first and then this rejects, with the signal's error when it aborted.
   */
  async whenReady(signal: AbortSignal | undefined): Promise<WorkerReadyMessage<From>> {
    let aborted = signal?.aborted ? abortReasonToError(signal) : undefined;
    const onAbort = () => {
      aborted = abortReasonToError(signal as AbortSignal);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const outcome = await this.ready.then(
      (ready) => ({ ready, error: undefined }),
      (error: Error) => ({ ready: undefined, error }),
    );
    signal?.removeEventListener("abort", onAbort);
    const failure = aborted ?? outcome.error;
    if (failure === undefined && outcome.ready !== undefined) return outcome.ready;
    await this.abandon();
    throw failure;
  }

  #onMessage(message: From): void {
    if (this.#state === "loading") this.#onLoadMessage(message);
    else if (message.type === "closed") this.#onClosed?.();
    else if (message.type !== "ready" && message.type !== "load-error") {
      this.#handlers?.message(message as WorkerReply<From>);
    }
  }

  #onLoadMessage(message: From): void {
    if (message.type === "ready") {
      this.#state = "ready";
      this.#settleLoad.resolve(message as WorkerReadyMessage<From>);
      return;
    }
    this.#state = "failed";
    this.#closing = true;
    this.#settleLoad.reject(
      isLoadError(message)
        ? this.#options.loadFailed(message.message)
        : internal(`${this.#options.name} sent "${message.type}" before "ready"`),
    );
  }

  #onEnd(error: Error, exited: boolean): void {
    if (this.#end !== undefined) return;
    const whileLoading = this.#state === "loading";
    this.#end = { error, exited, whileLoading };
    this.#onClosed?.();
    if (whileLoading) {
      this.#state = "failed";
      this.#settleLoad.reject(this.#options.diedWhileLoading(error));
    }
    this.#handlers?.end(this.#end);
  }
}

interface Settle<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: Error) => void;
}

function isLoadError(message: WorkerMessage): message is { type: "load-error"; message: string } {
  return (
    message.type === "load-error" && typeof (message as { message?: unknown }).message === "string"
  );
}

/** Resolves after `ms` without holding the process open. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
