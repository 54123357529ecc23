import { packageVersion } from "../config/package-version.js";
import type { ServerConfig } from "../config/server-options.js";
import { createTextGenerator } from "../generation/text-generator.js";
import { defaultUiDir } from "../http/default-ui-dir.js";
import type { HttpRoute } from "../http/http-route.js";
import { createMetricsRoute } from "../http/metrics-route.js";
import { createOipRoutes } from "../http/open-inference/oip-routes.js";
import { createOpenAiRoutes } from "../http/openai/openai-routes.js";
import { createStaticUiRoute } from "../http/static-ui-route.js";
import { createPredictor } from "../inference/predictor.js";
import { createApiKeyInterceptor } from "../interceptors/api-key-interceptor.js";
import { accessLogCallHook } from "../interceptors/logging-interceptor.js";
import { metricsCallHook } from "../interceptors/metrics-interceptor.js";
import { createObservingInterceptor } from "../interceptors/observe-call.js";
import { tracingCallHook } from "../interceptors/tracing-interceptor.js";
import { logGenerationEnd } from "../logging/log-generation-end.js";
import { logHttpRequest } from "../logging/log-http-request.js";
import { logRpcCall } from "../logging/log-rpc-call.js";
import type { Logger } from "../logging/logger.js";
import { type HttpRequestDone, recordHttpRequest } from "../metrics/http-metrics.js";
import { createInferdMetrics, type InferdMetrics } from "../metrics/inferd-metrics.js";
import { recordInference } from "../metrics/model-metrics.js";
import { observeRegistry } from "../metrics/observe-registry.js";
import { recordRpcRefused } from "../metrics/rpc-metrics.js";
import { keyNameOfClient } from "../observed-call/client-identity.js";
import { peerContextValues } from "../observed-call/peer-context.js";
import type { ModelRuntime } from "../runtime/model-runtime.js";
import { createInferdRoutes } from "../services/routes.js";
import { createInferdKeys } from "./inferd-keys.js";
import { createInferdRegistry } from "./inferd-registry.js";
import { createInferdDrain, createInferdServer, type InferdServer } from "./inferd-server.js";
import { createProductionLoaders } from "./production-loaders.js";

/** Options of `createInferdApp`: the resolved configuration and the logger. */
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
 * Composes the production server, in dependency order: the registry over the
 * repository (warmup, dynamic batching and the generation engine per `model.json`),
 * the drain, the inferd API, the OpenAI (/v1) and Open Inference Protocol (/v2) HTTP
 * routes over them, Prometheus metrics
 * at /metrics, logging and metrics interceptors, then the server. `main` and the
 * integration tests both start exactly this.
 */
export function createInferdApp(options: InferdAppOptions): InferdApp {
  const { config, logger } = options;
  const metrics = createInferdMetrics();
  const keys = createInferdKeys(config, logger, metrics);
  const verifyApiKey = keys.ring;
  const logHttp = logHttpRequest(logger);
  const logRpc = logRpcCall(logger);
  const registry = createInferdRegistry({
    config,
    logger,
    ...(options.runtime ? { runtime: options.runtime } : {}),
    ...createProductionLoaders({
      metrics,
      logger,
      streamStallTimeoutMs: config.streamStallTimeoutMs,
    }),
  });
  const drain = createInferdDrain();
  const logEnd = logGenerationEnd(logger);
  const generator = createTextGenerator({
    registry,
    onEnd: (end) => {
      logEnd(end);
      // Generated tokens are charged after the fact: a stream is never cut for them.
      keys.ring?.chargeGeneratedTokens(keyNameOfClient(end.client), end.completionTokens);
    },
  });
  // One Predict path for Predict, ModelInfer and REST infer: the same timeout and metrics.
  const predictor = createPredictor({
    registry,
    defaultTimeoutMs: config.requestTimeoutMs,
    onResult: (r) => recordInference(metrics, r.model, r.version, r.code, r.seconds),
  });
  // What every HTTP API route family shares: admission, the API key, the access log and metrics.
  const api = {
    generator,
    predictor,
    registry,
    maxRequestBytes: config.maxRequestBytes,
    logger,
    admission: drain,
    ...(verifyApiKey && { verifyApiKey }),
    onResponse: (done: HttpRequestDone) => {
      recordHttpRequest(metrics, done);
      logHttp(done);
    },
  };
  const httpRoutes = appHttpRoutes(config, metrics, [
    createOpenAiRoutes(api),
    ...createOipRoutes({
      ...api,
      isShuttingDown: () => drain.shutdownSignal.aborted,
      serverVersion: packageVersion(),
    }),
  ]);
  const server = createInferdServer({
    config,
    logger,
    registry,
    drain,
    routes: createInferdRoutes({
      registry,
      logger,
      generator,
      maxBatchPredictItems: config.maxBatchPredictItems,
      predictor,
    }),
    interceptors: [
      // One observing interceptor for the three: the call is timed and watched once.
      createObservingInterceptor(
        tracingCallHook(),
        metricsCallHook(metrics),
        accessLogCallHook(logger),
      ),
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
  const shutdown = server.shutdown.bind(server);
  return Object.assign(server, {
    metrics,
    shutdown: () => {
      keys.stop();
      return shutdown();
    },
  });
}

/** /metrics, then the API's own HTTP routes, then the playground unless `--ui-dir ""`. */
function appHttpRoutes(
  config: ServerConfig,
  metrics: InferdMetrics,
  api: readonly HttpRoute[],
): HttpRoute[] {
  const routes = [createMetricsRoute(metrics.registry), ...api];
  if (config.uiDir !== "") {
    routes.push(createStaticUiRoute({ dir: config.uiDir ?? defaultUiDir() }));
  }
  return routes;
}
