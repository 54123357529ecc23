import { readFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { DescMethod } from "@bufbuild/protobuf";
import { type ConnectRouter, createContextValues, type Interceptor } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, connectNodeAdapter } from "@connectrpc/connect-node";
import type { ServerConfig } from "../config/server-options.js";
import { recodeConnectRefusals } from "../connect-adapter/recode-connect-refusals.js";
import { createRefusalObserver } from "../connect-adapter/refusal-observer.js";
import { createRequestParseErrorInterceptor } from "../connect-adapter/request-parse-error.js";
import { withStallCut } from "../connect-adapter/stall-cut.js";
import { unknownProcedure } from "../connect-adapter/unknown-procedure.js";
import type { HttpRoute } from "../http/http-route.js";
import { createProbeRoutes } from "../http/probe-routes.js";
import { createConnectUnaryPath } from "../lean-path/connect-unary-path.js";
import { type ContextValuesOfPeer, createGrpcUnaryPath } from "../lean-path/grpc-unary-path.js";
import { createGrpcWebUnaryPath } from "../lean-path/grpc-web-unary-path.js";
import type { RequestClaim } from "../lean-path/lean-http-call.js";
import { createUnaryMethodTable } from "../lean-path/unary-method-table.js";
import { createOnePortListener } from "../listener/one-port-listener.js";
import { createRequestHandler } from "../listener/request-handler.js";
import { logParserRefusal } from "../logging/log-http-request.js";
import type { Logger } from "../logging/logger.js";
import { withNodeRequest } from "../observed-call/observed-requests.js";
import type { RecordRefusedCall } from "../observed-call/rpc-call.js";
import type { ModelRegistry } from "../registry/model-registry.js";
import { createBigMessageCodec } from "../services/big-message-codec.js";
import { createHealthService } from "../services/health-service.js";
import { createReflectionService } from "../services/reflection-service.js";
import { strictUtf8Decoder } from "../text/strict-utf8.js";
import { createDrainController, type DrainController } from "./drain-controller.js";

/** Options of `createInferdServer`: a registry, the routes over it, and the transport's settings. */
export interface InferdServerOptions {
  config: ServerConfig;
  logger: Logger;
  /** The models served: `createInferdRegistry` in production, fakes in tests. */
  registry: ModelRegistry;
  /**
   * Graceful shutdown; create it with `createInferdDrain` first when routes need it
   * as their admission (the OpenAI HTTP routes). Defaults to a fresh one.
   */
  drain?: DrainController;
  /** The inferd API (InferenceService, ModelService, ...): `createInferdRoutes` over a predictor. */
  routes: (router: ConnectRouter) => void;
  /** Connect interceptors (logging, metrics), outermost first; the drain's and the request re-coding's go after them. */
  interceptors?: readonly Interceptor[];
  /** Extra plain HTTP routes (e.g. /metrics), tried after /healthz and /readyz. */
  httpRoutes?: readonly HttpRoute[];
  /** Per-call context values, e.g. `peerContextValues` for the peer address. */
  contextValues?: ContextValuesOfPeer;
  /**
   * Records the calls the protocol refuses before any interceptor runs (a body over
   * the limit, a malformed body or header), on either path; pass it with interceptors
   * that call `markObserved`, or calls they see are recorded twice. Unset: not recorded.
   */
  recordRefusedCall?: RecordRefusedCall;
}

/** A server on one port: start, readiness, graceful stop. */
export interface InferdServer {
  readonly registry: ModelRegistry;
  /**
   * Binds the port (0: any free one), then starts loading models in the background.
   * `started` settles once the registry has started; it rejects when the server cannot
   * serve at all (the repository cannot be read, a --load-model names no model), which
   * `inferd` turns into an exit with status 1. A model that fails to load is not fatal.
   */
  listen(): Promise<{ port: number; started: Promise<void> }>;
  /**
   * Graceful shutdown: readiness and health turn negative at once, new calls get
   * Unavailable, calls in flight get up to `gracePeriodMs`, the rest are cut off
   * with Unavailable, connections close (GOAWAY), models are unloaded. Idempotent.
   */
  shutdown(): Promise<void>;
}

const HEALTH_SERVICE = "grpc.health.v1.Health";
/**
 * proto3 JSON's default, not connect-es's: a misspelt field ("rawOutput") or enum name
 * is InvalidArgument naming it, instead of being silently dropped. Bodies that are not
 * valid UTF-8 are InvalidArgument too: connect-es decodes JSON with `textDecoder` when
 * given one (its declared type omits it, its JSON serialization reads it), on
 * connect-node's path and the lean Connect path alike.
 */
const JSON_OPTIONS = { ignoreUnknownFields: false, textDecoder: strictUtf8Decoder };
/** connect-node's default response compressions, named so the lean paths use the same. */
const ACCEPT_COMPRESSION = [compressionGzip, compressionBrotli] as const;
/** A playground tab keeps one open: it must not hold every rollout for the grace period. */
const WATCH_MODELS = "inferd.v1.ModelService/WatchModels";

/**
 * The server's drain controller: health and WatchModels are exempt. Created apart
 * from the server so that routes outside Connect can take it as their admission.
 */
export function createInferdDrain(): DrainController {
  return createDrainController({ exempt: [HEALTH_SERVICE, WATCH_MODELS] });
}

/**
 * Composes the given registry and API routes with health, reflection, probes, the
 * drain and the one-port listener. The server owns the registry's lifecycle: it
 * starts it in `listen` and closes it in `shutdown`.
 */
export function createInferdServer(options: InferdServerOptions): InferdServer {
  const { config, logger, registry } = options;
  const drain = options.drain ?? createInferdDrain();
  const api = options.routes;
  let registryStarted = () => {};
  const health = createHealthService({
    registry,
    shutdownSignal: drain.shutdownSignal,
    started: new Promise<void>((resolve) => (registryStarted = resolve)),
  });
  const unary = createUnaryMethodTable();
  const procedures = new Map<string, DescMethod>();
  const routes = (router: ConnectRouter) => {
    api(unary.recording(router));
    health(unary.recording(router));
    // Reflection advertises exactly what is registered, so it runs last.
    createReflectionService({ services: router.handlers.map((h) => h.service) })(router);
    for (const handler of router.handlers) procedures.set(handler.requestPath, handler.method);
    // Last: it wraps every handler registered above.
    recodeConnectRefusals(router);
  };
  const { recordRefusedCall, contextValues } = options;
  // Innermost, the re-coding of undecodable stream requests: the logging and metrics see its code.
  const interceptors = [
    ...(options.interceptors ?? []),
    drain.interceptor,
    createRequestParseErrorInterceptor(),
  ];
  const connect = connectNodeAdapter({
    routes,
    interceptors,
    jsonOptions: JSON_OPTIONS,
    acceptCompression: [...ACCEPT_COMPRESSION],
    fallback: unknownProcedure,
    readMaxBytes: config.maxRequestBytes,
    shutdownSignal: drain.cutoffSignal,
    // Every call can end its own exchange (a Generate whose client stopped reading);
    // the transport's refusal records also need the Node request.
    contextValues: (req: IncomingMessage | Http2ServerRequest) => {
      const values = withStallCut(contextValues?.(req) ?? createContextValues(), req);
      return recordRefusedCall ? withNodeRequest(values, req) : values;
    },
  });
  const probes = createProbeRoutes({
    registry,
    isShuttingDown: () => drain.shutdownSignal.aborted,
  });
  // Big bodies on the lean paths decode, and big answers encode, off the event loop
  // (docs/architecture.md).
  const codec = createBigMessageCodec({ maxBatchPredictItems: config.maxBatchPredictItems });
  const lean = {
    decodeLarge: codec.decode,
    encodeLarge: codec.encode,
    methods: unary.methods,
    interceptors,
    readMaxBytes: config.maxRequestBytes,
    shutdownSignal: drain.cutoffSignal,
    ...(contextValues && { contextValues }),
    ...(recordRefusedCall && { recordRefusedCall }),
  };
  const leanHttp = { ...lean, jsonOptions: JSON_OPTIONS, acceptCompression: ACCEPT_COMPRESSION };
  const handler = createRequestHandler({
    corsOrigins: config.corsOrigin,
    httpRoutes: [probes, ...(options.httpRoutes ?? [])],
    connect,
    claimRequest: eitherClaim(createConnectUnaryPath(leanHttp), createGrpcWebUnaryPath(leanHttp)),
    ...(recordRefusedCall && {
      observeRefusals: createRefusalObserver({ procedures, record: recordRefusedCall }),
    }),
  });
  const claimStream = createGrpcUnaryPath(lean);
  const streamsRequest = (path: string) => {
    const kind = procedures.get(path)?.methodKind;
    return kind === "client_streaming" || kind === "bidi_streaming";
  };
  const starting = new AbortController();
  let listener: ReturnType<typeof createOnePortListener> | undefined;
  let started: Promise<void> = Promise.resolve();
  let stopping: Promise<void> | undefined;
  return {
    registry,
    async listen() {
      const tls =
        config.tlsCert && config.tlsKey
          ? {
              cert: await readNamed(config.tlsCert, "--tls-cert"),
              key: await readNamed(config.tlsKey, "--tls-key"),
            }
          : undefined;
      listener = createOnePortListener({
        handler,
        claimStream,
        maxConcurrentStreams: config.maxConcurrentStreams,
        keepalive: { timeMs: config.keepaliveTimeMs, timeoutMs: config.keepaliveTimeoutMs },
        // Streaming-request RPCs (PredictStream) keep their body open by design.
        bodyTimeout: { ms: config.bodyTimeoutMs, openBody: (path) => streamsRequest(path) },
        closingSignal: drain.shutdownSignal,
        onParserRefusal: logParserRefusal(logger),
        ...(tls ? { tls } : {}),
      });
      const port = await listener.listen(config.port, config.host);
      logger.info({ port, host: config.host, tls: tls !== undefined }, "inferd listening");
      const registryStart = registry.start(starting.signal);
      started = registryStart.catch((error: unknown) => {
        logger.error({ err: error }, "starting the model registry failed");
      });
      void started.then(registryStarted);
      return { port, started: registryStart };
    },
    shutdown() {
      stopping ??= (async () => {
        logger.info(
          { gracePeriodMs: config.gracePeriodMs, inFlight: drain.inFlight },
          "shutting down",
        );
        await drain.drain(config.gracePeriodMs);
        await listener?.close();
        starting.abort();
        await started;
        await registry.close();
        await codec.close();
        logger.info({}, "inferd stopped");
      })();
      return stopping;
    },
  };
}

/** Reads a file named by a flag; the error says which flag to fix. */
async function readNamed(path: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new Error(`${flag} ${path}: ${(error as Error).message}`);
  }
}

/** Claims a request for the first lean path that takes it (each looks at its content type). */
function eitherClaim(...claims: readonly RequestClaim[]): RequestClaim {
  return (req, res) => {
    for (const claim of claims) if (claim(req, res)) return true;
    return false;
  };
}
