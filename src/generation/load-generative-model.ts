import { basename, dirname, join } from "node:path";
import { readOnnxWeightBytes } from "../onnx/read-onnx-weight-bytes.js";
import { memoryLimit } from "../runtime/memory-limit.js";
import type { SessionOptions } from "../runtime/model-runtime.js";
import type { KvCacheMode } from "./engine/decoder-signature.js";
import { checkKvCacheBudget } from "./engine/kv-cache-memory.js";
import {
  DEFAULT_MAX_PREFILL_TOKENS_PER_STEP,
  DEFAULT_MAX_PREFILL_TOKENS_WHILE_DECODING,
} from "./engine/prefill-plan.js";
import type { GenerationObserver } from "./generation-observer.js";
import type { GenerativeModel } from "./generative-model.js";
import { createChatTemplate } from "./request/chat-template.js";
import { loadGenerationConfig } from "./request/generation-config.js";
import { loadTextTokenizer, loadTokenizerConfig } from "./request/tokenizer.js";
import { startGenerationWorker } from "./worker/generation-worker-thread.js";
import { WorkerGenerativeModel } from "./worker-generative-model.js";

/** Options of `loadGenerativeModel`: the version's folder and model file, its limits, session options and KV-cache mode. */
export interface GenerativeModelOptions {
  /** The version folder (tokenizer.json, tokenizer_config.json, config.json, ...). */
  dir: string;
  modelPath: string;
  maxConcurrentSequences: number;
  /**
   * model.json `max_prefill_tokens_per_step`: prompt tokens one step may prefill, so a
   * long prompt is prefilled in chunks between decode steps; absent: {@link DEFAULT_MAX_PREFILL_TOKENS_PER_STEP}.
   */
  maxPrefillTokensPerStep?: number;
  /**
   * model.json `max_prefill_tokens_while_decoding`: the same while other sequences
   * decode, each chunk being a gap in their streams; absent: {@link DEFAULT_MAX_PREFILL_TOKENS_WHILE_DECODING}.
   */
  maxPrefillTokensWhileDecoding?: number;
  /**
   * model.json `prefix_cache_bytes`: bytes of prompt-prefix KV blocks kept for reuse
   * by later requests sharing the prefix (engine/prefix-cache.ts); absent or 0: none.
   */
  prefixCacheBytes?: number;
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
  /** Called once, when the model is disposed. */
  onDispose?: () => void;
  /**
   * model.json `kv_cache_memory_bytes`: the most a full KV cache may take (checked at
   * load); absent or 0: the memory limit (the container's, else the machine's) less the weights.
   */
  kvCacheMemoryBytes?: number;
  /** model.json `matmul_nbits_accuracy_level`; absent: each MatMulNBits node keeps its own. */
  matmulNBitsAccuracyLevel?: number;
}

/**
 * Session defaults of a generation worker: one intra-op thread, no spinning. A decode
 * step is a long chain of tiny ops, so handing each to a thread pool costs more than it
 * saves (stories260k, one step at batch 1: 0.50 ms with one thread, 0.63 ms with ORT's
 * default of one per core, 0.70 ms without spinning), and idle pool threads spinning
 * would take the core the event loop needs to stream tokens. The server passes its own
 * thread count (`chooseGenerationThreads`: the cores shared among the generative
 * versions loaded, or model.json's `session.intra_op_threads`); this default is for
 * callers that pass none.
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
  const modelPath = options.modelPath || join(options.dir, "model.onnx");
  // The version folder is <repo>/<model>/<version>: name the model, never the path.
  const what = `model "${basename(dirname(options.dir))}"`;
  // A chat template that does not compile fails the load before any worker exists.
  const tokenizerConfig = await loadTokenizerConfig(options.dir);
  const template = createChatTemplate(tokenizerConfig, what);
  // Then the worker starts (its imports, its tokenizer, the session: most of a load) and
  // the main thread builds its own tokenizer meanwhile, on the other core: spawn-to-ready
  // is issue 17's benchmark item 6. A failure there abandons the worker.
  const worker = startGenerationWorker({
    dir: options.dir,
    modelPath,
    maxConcurrentSequences: options.maxConcurrentSequences,
    maxPrefillTokensPerStep: options.maxPrefillTokensPerStep ?? DEFAULT_MAX_PREFILL_TOKENS_PER_STEP,
    maxPrefillTokensWhileDecoding:
      options.maxPrefillTokensWhileDecoding ?? DEFAULT_MAX_PREFILL_TOKENS_WHILE_DECODING,
    prefixCacheBytes: options.prefixCacheBytes ?? 0,
    session: { ...GENERATION_SESSION_DEFAULTS, ...options.session },
    kvCache: options.kvCache ?? "append",
    ...(options.matmulNBitsAccuracyLevel !== undefined && {
      matmulNBitsAccuracyLevel: options.matmulNBitsAccuracyLevel,
    }),
  });
  const [tokenizer, config, weightBytes] = await Promise.all([
    loadTextTokenizer(options.dir, tokenizerConfig),
    loadGenerationConfig(options.dir),
    // An unreadable file is the session's to report, in its words.
    readOnnxWeightBytes(modelPath).catch(() => 0),
  ]).catch(async (error: unknown) => {
    await worker.abandon();
    throw error;
  });
  const ready = await worker.whenReady(options.signal);
  const budget = kvCacheBudget(options.kvCacheMemoryBytes ?? 0, weightBytes);
  try {
    checkKvCacheBudget({
      what,
      maxConcurrentSequences: options.maxConcurrentSequences,
      contextWindow: config.contextWindow,
      bytesPerToken: ready.kvBytesPerToken,
      ...budget,
    });
  } catch (error) {
    await worker.close();
    throw error;
  }
  const memory = { weightBytes, kvCacheBudgetBytes: budget.budgetBytes };
  return new WorkerGenerativeModel(worker, ready, tokenizer, template, config, {
    ...options,
    ...memory,
  });
}

/**
 * The KV-cache budget: model.json's, else the process's memory limit (its container's,
 * else the machine's) less the weights (a cache that cannot fit beside them is a
 * configuration error whatever else runs).
 */
function kvCacheBudget(configured: number, weightBytes: number) {
  if (configured > 0) {
    return { budgetBytes: configured, budgetSource: "model.json kv_cache_memory_bytes" };
  }
  return {
    budgetBytes: Math.max(0, memoryLimit() - weightBytes),
    budgetSource:
      "the default: the memory limit (the container's, else the machine's) less the weights",
  };
}
