/**
 * Entry point of a session worker thread: holds one onnxruntime session and runs
 * one message at a time for the pool in the parent thread (see `session-instance.ts`):
 * its runs one after the other, answered together in one message, with every output
 * buffer transferred, not copied. A failed run fails alone: the others still answer.
 */
import { createInProcessSession, type InProcessSession } from "./in-process-session.js";
import { serveWorker, type WorkerSend } from "./serve-worker.js";
import {
  type FromSessionWorker,
  prepareTransfer,
  type SessionRunOutcome,
  type SessionWorkerData,
  type ToSessionWorker,
} from "./worker-protocol.js";

type RunMessage = Extract<ToSessionWorker, { type: "run" }>;

async function run(
  session: InProcessSession,
  message: RunMessage,
  send: WorkerSend<FromSessionWorker>,
): Promise<void> {
  const outcomes: SessionRunOutcome[] = [];
  const transfer: ArrayBuffer[] = [];
  for (const { inputs, outputNames } of message.runs) {
    try {
      const prepared = prepareTransfer(await session.run(inputs, outputNames));
      outcomes.push({ outputs: prepared.tensors });
      transfer.push(...prepared.transfer);
    } catch (error) {
      outcomes.push({ error: error instanceof Error ? error.message : String(error) });
    }
  }
  send({ type: "result", id: message.id, outcomes }, transfer);
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
