import type { LoadedModel, LoadOptions, ModelRuntime } from "./model-runtime.js";
import { defaultWorkerUrl } from "./start-worker.js";
import { WorkerPool } from "./worker-pool.js";

/** Options of `createOnnxRuntime`. */
export interface OnnxRuntimeOptions {
  /**
   * The session worker script. Defaults to `session-worker.ts`/`.js` next to this
   * module; tests substitute a wrapper (e.g. one that can be told to crash).
   */
  workerUrl?: URL;
}

/**
 * The onnxruntime-node {@link ModelRuntime}: every loaded model is a pool of
 * `instanceCount` worker threads, each with its own `InferenceSession`, because
 * `session.run` computes synchronously on the thread that calls it.
 */
export function createOnnxRuntime(options: OnnxRuntimeOptions = {}): ModelRuntime {
  const workerUrl = options.workerUrl ?? defaultWorkerUrl();
  return {
    load(load: LoadOptions): Promise<LoadedModel> {
      return WorkerPool.start({
        workerUrl,
        modelPath: load.modelPath,
        session: load.session,
        instanceCount: load.instanceCount,
        ...(load.signal ? { signal: load.signal } : {}),
      });
    },
  };
}
