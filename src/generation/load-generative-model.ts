import { basename, dirname, join } from "node:path";
import type { SessionOptions } from "../runtime/model-runtime.js";
import type { KvCacheMode } from "./engine/decoder-signature.js";
import type { GenerationObserver } from "./generation-observer.js";
import type { GenerativeModel } from "./generative-model.js";
import { createChatTemplate } from "./request/chat-template.js";
import { loadGenerationConfig } from "./request/generation-config.js";
import { loadTextTokenizer } from "./request/tokenizer.js";
import { startGenerationWorker } from "./worker/generation-worker-thread.js";
import { WorkerGenerativeModel } from "./worker-generative-model.js";

/** Options of `loadGenerativeModel`: the version's folder and model file, its limits, session options and KV-cache mode. */
export interface GenerativeModelOptions {
  /** The version folder (tokenizer.json, tokenizer_config.json, config.json, ...). */
  dir: string;
  modelPath: string;
  maxConcurrentSequences: number;
  /** Requests that may wait for a slot; beyond, generate fails resource_exhausted. */
  maxWaiting: number;
  /** Sequences one client may have running plus waiting; absent: the model's default. */
  maxSequencesPerClient?: number;
  /** Step events one call may hold unread before its sequence pauses (worker-generative-model.ts). */
  maxBufferedEvents?: number;
  /** A paused call unread this long is cancelled, resource_exhausted (0: never). */
  streamStallTimeoutMs?: number;
  signal?: AbortSignal;
  /** ORT session options (model.json `session`), over {@link GENERATION_SESSION_DEFAULTS}. */
  session?: SessionOptions;
  /** Metrics hooks: first-token and inter-token times, token counts, sequence counts. */
  observer?: GenerationObserver;
  /** model.json `kv_cache`: "append" (default) rewrites the graph when it can, "concat" never. */
  kvCache?: KvCacheMode;
  /** model.json `matmul_nbits_accuracy_level`; absent: each MatMulNBits node keeps its own. */
  matmulNBitsAccuracyLevel?: number;
}

/**
 * Session defaults of a generation worker: one intra-op thread, no spinning. A decode
 * step is a long chain of tiny ops, so handing each to a thread pool costs more than it
 * saves (stories260k, one step at batch 1: 0.50 ms with one thread, 0.63 ms with ORT's
 * default of one per core, 0.70 ms without spinning), and idle pool threads spinning
 * would take the core the event loop needs to stream tokens. Large models on many
 * cores may want more: set `session.intra_op_threads` in model.json.
 */
export const GENERATION_SESSION_DEFAULTS: SessionOptions = {
  intraOpThreads: 1,
  allowSpinning: false,
};

/**
 * Loads a decoder model into a new worker thread and resolves once its session is
 * ready. @throws InferdError failed_precondition when the folder is not a usable
 * generative model, canceled when `signal` aborts.
 */
export async function loadGenerativeModel(
  options: GenerativeModelOptions,
): Promise<GenerativeModel> {
  const [tokenizer, config] = await Promise.all([
    loadTextTokenizer(options.dir),
    loadGenerationConfig(options.dir),
  ]);
  // Everything that can fail without the session comes first: no worker to clean up then.
  // The version folder is <repo>/<model>/<version>: name the model, never the path.
  const template = createChatTemplate(
    tokenizer.config,
    `model "${basename(dirname(options.dir))}"`,
  );
  const worker = startGenerationWorker({
    dir: options.dir,
    modelPath: options.modelPath || join(options.dir, "model.onnx"),
    maxConcurrentSequences: options.maxConcurrentSequences,
    session: { ...GENERATION_SESSION_DEFAULTS, ...options.session },
    kvCache: options.kvCache ?? "append",
    ...(options.matmulNBitsAccuracyLevel !== undefined && {
      matmulNBitsAccuracyLevel: options.matmulNBitsAccuracyLevel,
    }),
  });
  const ready = await worker.whenReady(options.signal);
  return new WorkerGenerativeModel(worker, ready, tokenizer, template, config, options);
}
