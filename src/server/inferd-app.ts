import { createApiKeyVerifier } from "../auth/api-key-verifier.js";
import { createDynamicBatcher } from "../batching/dynamic-batcher.js";
import type { ServerConfig } from "../config/server-options.js";
import { loadGenerativeModel } from "../generation/generative-model.js";
import { createTextGenerator } from "../generation/text-generator.js";
import { defaultUiDir } from "../http/default-ui-dir.js";
import type { HttpRoute } from "../http/http-route.js";
import { createMetricsRoute } from "../http/metrics-route.js";
import { createOpenAiRoutes } from "../http/openai-routes.js";
import { createStaticUiRoute } from "../http/static-ui-route.js";
import { createPredictor } from "../inference/predictor.js";
import { warmupInputs } from "../inference/warmup-inputs.js";
import { createApiKeyInterceptor } from "../interceptors/api-key-interceptor.js";
import { createLoggingInterceptor } from "../interceptors/logging-interceptor.js";
import { createMetricsInterceptor } from "../interceptors/metrics-interceptor.js";
import { createTracingInterceptor } from "../interceptors/tracing-interceptor.js";
import { logGenerationEnd } from "../logging/log-generation-end.js";
import { logHttpRequest } from "../logging/log-http-request.js";
import { logRpcCall } from "../logging/log-rpc-call.js";
import type { Logger } from "../logging/logger.js";
import { createBatchObserver } from "../metrics/batch-observer.js";
import { createGenerationObserver } from "../metrics/generation-observer.js";
import { recordHttpRequest } from "../metrics/http-metrics.js";
import { createInferdMetrics, type InferdMetrics } from "../metrics/inferd-metrics.js";
import { observeRegistry, recordInference } from "../metrics/model-metrics.js";
import { recordRpcRefused } from "../metrics/rpc-metrics.js";
import { peerContextValues } from "../observed-call/peer-context.js";
import type { VersionLoadRequest } from "../registry/version-load-request.js";
import type { LoadedModel, ModelRuntime } from "../runtime/model-runtime.js";
import { createInferdRoutes } from "../services/routes.js";
import { createInferdServer, type InferdServer } from "./inferd-server.js";

export interface InferdAppOptions {
  config: ServerConfig;
  logger: Logger;
  /** Defaults to onnxruntime-node worker pools; tests may substitute. */
  runtime?: ModelRuntime;
}

/** The whole server as `inferd` runs it, plus its metrics for tests and tools. */
export interface InferdApp extends InferdServer {
  readonly metrics: InferdMetrics;
}

/**
 * Composes the production server: registry over the repository, warmup and dynamic
 * batching per version as `model.json` says, the generation engine for decoder
 * models, the inferd API, Prometheus metrics at /metrics, logging and metrics
 * interceptors. `main` and the integration tests both start exactly this.
 */
export function createInferdApp(options: InferdAppOptions): InferdApp {
  const { config, logger } = options;
  const metrics = createInferdMetrics();
  const verifyApiKey = createApiKeyVerifier(config.apiKey);
  const logHttp = logHttpRequest(logger);
  const logRpc = logRpcCall(logger);
  // The OpenAI routes need the registry, which exists once the server calls `routes`.
  let openAi: HttpRoute = () => false;
  const httpRoutes: HttpRoute[] = [createMetricsRoute(metrics.registry), (q, s) => openAi(q, s)];
  if (config.uiDir !== "") {
    httpRoutes.push(createStaticUiRoute({ dir: config.uiDir ?? defaultUiDir() }));
  }
  const server = createInferdServer({
    config,
    logger,
    ...(options.runtime ? { runtime: options.runtime } : {}),
    preparePredict: (model, request) => preparePredict(model, request, metrics),
    loadGenerative: async (request) => {
      const model = await loadGenerativeModel({
        dir: request.dir,
        modelPath: request.modelPath,
        maxConcurrentSequences: request.config.maxConcurrentSequences,
        maxWaiting: request.config.maxWaiting,
        kvCache: request.config.kvCache,
        session: request.config.session,
        signal: request.signal,
        observer: createGenerationObserver(metrics, request.model, request.version),
      });
      // Whether the append-only KV cache applied, and if it was asked for but not, why.
      const fields = { model: request.model, version: request.version, kv_cache: model.kvCache };
      if (model.kvCacheNote === "") logger.info(fields, "generation KV cache");
      else logger.warn({ ...fields, reason: model.kvCacheNote }, "generation KV cache as exported");
      return model;
    },
    routes: ({ registry, logger, requestTimeoutMs, admission }) => {
      const generator = createTextGenerator({ registry, onEnd: logGenerationEnd(logger) });
      const maxRequestBytes = config.maxRequestBytes;
      openAi = createOpenAiRoutes({
        generator,
        registry,
        maxRequestBytes,
        logger,
        admission,
        ...(verifyApiKey && { verifyApiKey }),
        onResponse: (done) => {
          recordHttpRequest(metrics, done);
          logHttp(done);
        },
      });
      return createInferdRoutes({
        registry,
        logger,
        generator,
        predictor: createPredictor({
          registry,
          defaultTimeoutMs: requestTimeoutMs,
          onResult: (r) => recordInference(metrics, r.model, r.version, r.code, r.seconds),
        }),
      });
    },
    interceptors: [
      createTracingInterceptor(),
      createMetricsInterceptor(metrics),
      createLoggingInterceptor(logger),
      ...(verifyApiKey ? [createApiKeyInterceptor(verifyApiKey)] : []),
    ],
    httpRoutes,
    contextValues: peerContextValues,
    // The same line and series as the logging and metrics interceptors write.
    recordRefusedCall: (call) => {
      recordRpcRefused(metrics, call.labels, call.code, call.durationMs / 1000);
      logRpc(call);
    },
  });
  observeRegistry(metrics, server.registry);
  return Object.assign(server, { metrics });
}

/** Warmup (one zero row) on the raw model, then the dynamic batcher in front of it. */
async function preparePredict(
  model: LoadedModel,
  request: VersionLoadRequest,
  metrics: InferdMetrics,
): Promise<LoadedModel> {
  const { config } = request;
  if (config.warmup) {
    for (let i = 0; i < config.instanceCount; i++) {
      await model.run(warmupInputs(model.inputs), [], request.signal);
    }
  }
  return createDynamicBatcher(model, {
    name: request.model,
    maxBatchSize: config.maxBatchSize,
    maxQueueDelayUs: config.maxQueueDelayUs,
    preferredBatchSizes: config.preferredBatchSizes,
    ...(config.maxQueueSize > 0 ? { maxQueueSize: config.maxQueueSize } : {}),
    instanceCount: config.instanceCount,
    ...(config.priorityLevels > 0 ? { priorityLevels: config.priorityLevels } : {}),
    ...(config.responseCache.maxEntries > 0 ? { responseCache: config.responseCache } : {}),
    observer: createBatchObserver(metrics, request.model, request.version),
  });
}
