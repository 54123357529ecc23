import type { Worker } from "node:worker_threads";
import { abortReasonToError, failedPrecondition, internal } from "../../errors/inferd-error.js";
import { startWorker } from "../../runtime/start-worker.js";
import type {
  FromGenerationWorker,
  GenerationWorkerData,
  ToGenerationWorker,
} from "../engine/generation-protocol.js";

/** Starts the worker: the `.ts` source under tsx/vitest (runtime's tsx bootstrap), else the compiled `.js`. */
export function startGenerationWorker(data: GenerationWorkerData): Worker {
  const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
  return startWorker(new URL(`./generation-worker.${ext}`, import.meta.url), { workerData: data });
}

/** The worker's "ready" message: the session's signature and the model's limits. */
export type GenerationWorkerReady = Extract<FromGenerationWorker, { type: "ready" }>;

/**
 * Resolves with the worker's "ready". An abort rejects only once the worker is gone:
 * terminating a worker while ORT creates its session aborts the whole process
 * (`terminate called after throwing an instance of 'Napi::Error'`), so an aborted
 * load is let finish and then closed the normal way.
 */
export function waitGenerationWorkerReady(
  worker: Worker,
  signal: AbortSignal | undefined,
): Promise<GenerationWorkerReady> {
  return new Promise((resolve, reject) => {
    let aborted: Error | undefined;
    const onAbort = () => {
      aborted = abortReasonToError(signal as AbortSignal);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    worker.once("error", (error) => {
      signal?.removeEventListener("abort", onAbort);
      reject(aborted ?? failedPrecondition(`generation worker failed: ${error.message}`));
    });
    worker.once("message", (message: FromGenerationWorker) => {
      signal?.removeEventListener("abort", onAbort);
      if (message.type === "ready" && aborted === undefined) return resolve(message);
      const error =
        aborted ??
        (message.type === "load-error"
          ? failedPrecondition(message.message)
          : internal(`generation worker sent "${message.type}" before "ready"`));
      void closeGenerationWorker(worker, message.type === "ready").then(() => reject(error));
    });
  });
}

/** Ends a worker whose load settled: releases its session first when it has one. */
export async function closeGenerationWorker(worker: Worker, hasSession: boolean): Promise<void> {
  if (hasSession) {
    const closed = new Promise<void>((resolve) => {
      worker.on("message", (m: FromGenerationWorker) => m.type === "closed" && resolve());
      worker.once("exit", () => resolve());
    });
    worker.postMessage({ type: "close" } satisfies ToGenerationWorker);
    await Promise.race([closed, new Promise((r) => setTimeout(r, 10_000).unref())]);
  }
  await worker.terminate();
}
