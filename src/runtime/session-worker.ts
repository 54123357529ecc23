/**
 * Entry point of a session worker thread: holds one onnxruntime session and runs
 * one job at a time for the pool in the parent thread (see `session-instance.ts`).
 * Outputs go back with their buffers transferred, not copied.
 */
import { createInProcessSession, type InProcessSession } from "./in-process-session.js";
import { serveWorker, type WorkerSend } from "./serve-worker.js";
import {
  type FromSessionWorker,
  prepareTransfer,
  type SessionWorkerData,
  type ToSessionWorker,
} from "./worker-protocol.js";

type RunMessage = Extract<ToSessionWorker, { type: "run" }>;

async function run(
  session: InProcessSession,
  message: RunMessage,
  send: WorkerSend<FromSessionWorker>,
): Promise<void> {
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

serveWorker<SessionWorkerData, ToSessionWorker, FromSessionWorker>(
  "session-worker.ts",
  async (data, send) => {
    const session = await createInProcessSession(data.modelPath, data.session);
    return {
      ready: { inputs: session.inputs, outputs: session.outputs },
      handle: (message) => void run(session, message, send),
      close: () => session.release(),
    };
  },
);
