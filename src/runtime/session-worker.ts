/**
 * Entry point of a session worker thread: holds one onnxruntime session and runs
 * one job at a time for the pool in the parent thread (see `session-instance.ts`).
 * Outputs go back with their buffers transferred, not copied.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createInProcessSession, type InProcessSession } from "./in-process-session.js";
import {
  type FromSessionWorker,
  prepareTransfer,
  type SessionWorkerData,
  type ToSessionWorker,
} from "./worker-protocol.js";

const port = parentPort;
if (port === null) throw new Error("session-worker.ts must run in a worker thread");
const data = workerData as SessionWorkerData;

function send(message: FromSessionWorker, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

async function handle(session: InProcessSession, message: ToSessionWorker): Promise<void> {
  if (message.type === "close") {
    await session.release();
    send({ type: "closed" });
    port?.close();
    return;
  }
  try {
    const outputs = await session.run(message.inputs, message.outputNames);
    const prepared = prepareTransfer(outputs);
    send({ type: "result", id: message.id, outputs: prepared.tensors }, prepared.transfer);
  } catch (error) {
    send({
      type: "run-error",
      id: message.id,
      message: error instanceof Error ? error.message : String(error),
    });
  }
}

try {
  const session = await createInProcessSession(data.modelPath, data.session);
  port.on("message", (message: ToSessionWorker) => void handle(session, message));
  send({ type: "ready", inputs: session.inputs, outputs: session.outputs });
} catch (error) {
  send({ type: "load-error", message: error instanceof Error ? error.message : String(error) });
  port.close();
}
