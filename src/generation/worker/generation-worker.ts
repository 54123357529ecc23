/**
 * Entry point of a generation worker thread: owns one onnxruntime session for a
 * decoder model and runs the continuous-batching scheduler, so that no token is
 * computed on the server's event loop. Streams each step's events back in one message.
 */
import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import type {
  FromGenerationWorker,
  GenerationWorkerData,
  ToGenerationWorker,
} from "../engine/generation-protocol.js";
import { GenerationScheduler } from "../engine/scheduler.js";
import { loadGenerationConfig } from "../request/generation-config.js";
import { loadTextTokenizer } from "../request/tokenizer.js";
import { openDecoderSession } from "./decoder-session.js";

const port = parentPort;
if (port === null) throw new Error("generation-worker.ts must run in a worker thread");
const data = workerData as GenerationWorkerData;

function send(message: FromGenerationWorker): void {
  port?.postMessage(message);
}

async function start(): Promise<void> {
  const [tokenizer, config] = await Promise.all([
    loadTextTokenizer(data.dir),
    loadGenerationConfig(data.dir),
  ]);
  const { session, signature, kvCacheNote } = await openDecoderSession(
    data.modelPath || join(data.dir, "model.onnx"),
    data.session,
    config,
    data.kvCache,
  );
  const scheduler = new GenerationScheduler({
    runner: session,
    signature,
    tokenizer,
    maxConcurrentSequences: data.maxConcurrentSequences,
    emit: (events) => send({ type: "step", events }),
  });
  port?.on("message", (message: ToGenerationWorker) => {
    if (message.type === "generate") scheduler.submit(message.id, message.job);
    else if (message.type === "cancel") scheduler.cancel(message.id);
    else void close();
  });
  const close = () =>
    scheduler
      .idle()
      .then(() => session.release())
      .finally(() => {
        send({ type: "closed" });
        port?.close();
      });
  send({
    type: "ready",
    inputs: session.inputs,
    outputs: session.outputs,
    kvCache: signature.kvCache,
    kvCacheNote,
  });
}

start().catch((error: unknown) => {
  send({ type: "load-error", message: error instanceof Error ? error.message : String(error) });
  port.close();
});
