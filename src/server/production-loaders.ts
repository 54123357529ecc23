import { availableParallelism } from "node:os";
import { createDynamicBatcher } from "../batching/dynamic-batcher.js";
import { observeStatistics } from "../batching/statistics-observer.js";
import { loadGenerativeModel } from "../generation/load-generative-model.js";
import { chooseGenerationThreads } from "../generation/worker/generation-threads.js";
import type { Logger } from "../logging/logger.js";
import { createBatchObserver } from "../metrics/batch-observer.js";
import { createGenerationObserver } from "../metrics/generation-observer.js";
import type { InferdMetrics } from "../metrics/inferd-metrics.js";
import type { ModelConfig } from "../registry/model-config.js";
import type { Servable } from "../registry/model-registry.js";
import type { VersionLoadRequest } from "../registry/version-load-request.js";
import type { LoadedModel } from "../runtime/model-runtime.js";
import { zeroInputs } from "../runtime/zero-inputs.js";
import type { LoadVersionOptions } from "./load-version.js";

/** Options of `createProductionLoaders`: where loads report (metrics, log). */
export interface ProductionLoadersOptions {
  metrics: InferdMetrics;
  logger: Logger;
  /** `--stream-stall-timeout-ms`: how long a generation stream may stay unread once paused. */
  streamStallTimeoutMs?: number;
  /** Cores the generation threads are chosen from; default `os.availableParallelism()`. */
  cores?: number;
}

/** What loading a generative version needs besides the request: the server's hooks and counts. */
interface GenerativeLoadContext {
  readonly metrics: InferdMetrics;
  readonly logger: Logger;
  readonly streamStallTimeoutMs: number;
  readonly cores: number;
  /** Generative versions loading or loaded and not yet disposed, shared by every load. */
  readonly versions: { count: number };
}

/**
 * What `inferd` does to each version it loads, as `model.json` says: warmup and
 * dynamic batching for predict models, the generation engine for decoder models,
 * both observed by the server's metrics: the hooks `createInferdRegistry` passes to
 * `createLoadVersion` in production.
 */
export function createProductionLoaders(
  options: ProductionLoadersOptions,
): Required<Pick<LoadVersionOptions, "preparePredict" | "loadGenerative">> {
  const { metrics, logger } = options;
  const generative: GenerativeLoadContext = {
    metrics,
    logger,
    streamStallTimeoutMs: options.streamStallTimeoutMs ?? 0,
    cores: options.cores ?? availableParallelism(),
    versions: { count: 0 },
  };
  return {
    preparePredict: (model, request) => {
      logExecution(model, request, logger);
      return preparePredict(model, request, metrics);
    },
    loadGenerative: (request) => loadGenerative(request, generative),
  };
}

/** Warmup (one zero row) on the raw model, then the dynamic batcher in front of it. */
async function preparePredict(
  model: LoadedModel,
  request: VersionLoadRequest,
  metrics: InferdMetrics,
): Promise<LoadedModel> {
  const { config } = request;
  const instanceCount = concurrentRuns(model, config);
  if (config.warmup) {
    // One warmup per session: inline there is one, whatever instance_count says.
    const sessions = model.execution?.mode === "inline" ? 1 : config.instanceCount;
    for (let i = 0; i < sessions; i++) {
      // One zero row: the first run allocates arenas and picks kernels, not a user's request.
      await model.run(zeroInputs(model.inputs, 1), [], request.signal);
    }
  }
  return createDynamicBatcher(model, {
    name: request.model,
    maxBatchSize: config.maxBatchSize,
    maxQueueDelayUs: config.maxQueueDelayUs,
    queueDelay: config.queueDelay,
    preferredBatchSizes: config.preferredBatchSizes,
    ...(config.maxQueueSize > 0 ? { maxQueueSize: config.maxQueueSize } : {}),
    instanceCount,
    ...(config.priorityLevels > 0 ? { priorityLevels: config.priorityLevels } : {}),
    ...(config.responseCache.maxEntries > 0 ? { responseCache: config.responseCache } : {}),
    observer: observeStatistics(
      request.statistics,
      createBatchObserver(metrics, request.model, request.version),
    ),
  });
}

/**
 * How many runs the batcher hands the model at once: one per worker; inline (one
 * session), batches one at a time so that they fill, single requests as many as may
 * share one event-loop turn.
 */
function concurrentRuns(model: LoadedModel, config: ModelConfig): number {
  if (model.execution?.mode !== "inline") return config.instanceCount;
  return config.maxBatchSize > 0 ? 1 : model.execution.concurrentRuns;
}

/** Where the version's runs execute (worker threads or the main thread), and why. */
function logExecution(model: LoadedModel, request: VersionLoadRequest, logger: Logger): void {
  if (!model.execution) return;
  logger.info(
    {
      model: request.model,
      version: request.version,
      execution: model.execution.mode,
      reason: model.execution.reason,
    },
    "predict execution",
  );
}

/**
 * The generation engine, its intra-op threads chosen from the cores and the generative
 * versions held (this one counted until it is disposed or fails to load), logging the
 * threads and whether the append-only KV cache applied.
 */
async function loadGenerative(
  request: VersionLoadRequest,
  context: GenerativeLoadContext,
): Promise<Servable> {
  const { versions, logger } = context;
  versions.count++;
  const threads = chooseGenerationThreads(
    request.config.session.intraOpThreads,
    context.cores,
    versions.count,
  );
  let model: Awaited<ReturnType<typeof loadGenerativeModel>>;
  try {
    model = await loadGenerativeModel({
      streamStallTimeoutMs: context.streamStallTimeoutMs,
      dir: request.dir,
      modelPath: request.modelPath,
      maxConcurrentSequences: request.config.maxConcurrentSequences,
      ...(request.config.maxPrefillTokensPerStep > 0 && {
        maxPrefillTokensPerStep: request.config.maxPrefillTokensPerStep,
      }),
      ...(request.config.maxPrefillTokensWhileDecoding > 0 && {
        maxPrefillTokensWhileDecoding: request.config.maxPrefillTokensWhileDecoding,
      }),
      maxWaiting: request.config.maxWaiting,
      ...(request.config.maxSequencesPerClient > 0 && {
        maxSequencesPerClient: request.config.maxSequencesPerClient,
      }),
      kvCache: request.config.kvCache,
      kvCacheMemoryBytes: request.config.kvCacheMemoryBytes,
      matmulNBitsAccuracyLevel: request.config.matmulNBitsAccuracyLevel,
      prefixCacheBytes: request.config.prefixCacheBytes,
      session: { ...request.config.session, intraOpThreads: threads.intraOpThreads },
      signal: request.signal,
      observer: createGenerationObserver(context.metrics, request.model, request.version),
      onDispose: () => void versions.count--,
    });
  } catch (error) {
    versions.count--;
    throw error;
  }
  // Whether the append-only KV cache applied, and if it was asked for but not, why.
  const fields = {
    model: request.model,
    version: request.version,
    intra_op_threads: threads.intraOpThreads,
    threads_reason: threads.reason,
    kv_cache: model.kvCache,
  };
  if (model.kvCacheNote === "") logger.info(fields, "generation KV cache");
  else logger.warn({ ...fields, reason: model.kvCacheNote }, "generation KV cache as exported");
  return model;
}
