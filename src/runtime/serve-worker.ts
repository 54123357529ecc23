import { parentPort, type TransferListItem, workerData } from "node:worker_threads";
import type {
  WorkerCloseMessage,
  WorkerLifecycleMessage,
  WorkerMessage,
  WorkerReadyMessage,
} from "./worker-envelope.js";

/** Sends one message to the parent, transferring `transfer` (default: nothing). */
export type WorkerSend<From> = (message: From, transfer?: readonly TransferListItem[]) => void;

/** What a worker serves once loaded. */
export interface WorkerService<To extends WorkerMessage, From extends WorkerMessage> {
  /** The "ready" message's content, sent once `handle` is listening. */
  readonly ready: Omit<WorkerReadyMessage<From>, "type">;
  /** Every message from the parent but "close". */
  handle(message: Exclude<To, WorkerCloseMessage>): void;
  /** Releases what the worker holds; "closed" is sent and the port closed once it settles. */
  close(): Promise<void>;
}

/**
 * The worker's side of the lifecycle {@link WorkerThread} drives: `load` runs with the
 * `workerData`, then the worker answers "ready" and serves, or "load-error" (with the
 * error's message) and ends. A "close" releases via the service, answers "closed" and
 * ends. @throws Error naming `script` when not running in a worker thread.
 */
export function serveWorker<Data, To extends WorkerMessage, From extends WorkerMessage>(
  script: string,
  load: (data: Data, send: WorkerSend<From>) => Promise<WorkerService<To, From>>,
): void {
  const port = parentPort;
  if (port === null) throw new Error(`${script} must run in a worker thread`);
  const send: WorkerSend<From> = (message, transfer = []) => port.postMessage(message, transfer);
  const lifecycle = (message: WorkerLifecycleMessage<object>) => port.postMessage(message);
  const serve = async () => {
    try {
      const service = await load(workerData as Data, send);
      port.on("message", (message: To) => {
        if (message.type !== "close") service.handle(message as Exclude<To, WorkerCloseMessage>);
        else
          void service.close().finally(() => {
            lifecycle({ type: "closed" });
            port.close();
          });
      });
      lifecycle({ type: "ready", ...service.ready });
    } catch (error) {
      lifecycle({
        type: "load-error",
        message: error instanceof Error ? error.message : String(error),
      });
      port.close();
    }
  };
  void serve();
}
