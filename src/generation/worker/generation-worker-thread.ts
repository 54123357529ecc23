import { failedPrecondition } from "../../errors/inferd-error.js";
import { siblingScriptUrl } from "../../runtime/start-worker.js";
import type { WorkerReadyMessage } from "../../runtime/worker-envelope.js";
import { WorkerThread } from "../../runtime/worker-thread.js";
import type {
  FromGenerationWorker,
  GenerationWorkerData,
  ToGenerationWorker,
} from "../engine/generation-protocol.js";

/** A generation worker as its parent sees it: the shared lifecycle over the generation protocol. */
export type GenerationWorkerThread = WorkerThread<ToGenerationWorker, FromGenerationWorker>;

/** The worker's "ready" message: the session's signature and the model's limits. */
export type GenerationWorkerReady = WorkerReadyMessage<FromGenerationWorker>;

/**
 * Starts the worker: the `.ts` source under tsx/vitest (runtime's tsx bootstrap), else
 * the compiled `.js`. Its load errors are failed_precondition. An aborted load is let
 * finish however long it takes and then closed (no settle timeout): terminating a
 * worker while ORT creates its session aborts the whole process.
 */
export function startGenerationWorker(data: GenerationWorkerData): GenerationWorkerThread {
  return new WorkerThread({
    url: siblingScriptUrl("generation-worker", import.meta.url),
    workerData: data,
    name: "generation worker",
    closeTimeoutMs: 10_000,
    loadFailed: (message) => failedPrecondition(message),
    diedWhileLoading: (error) => failedPrecondition(`generation worker failed: ${error.message}`),
  });
}
