import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { type CounterTally, createCounterTally } from "./counter-tally.js";
import { createGaugeTally, type GaugeTally } from "./gauge-tally.js";
import { createHistogramTally, type HistogramTally } from "./histogram-tally.js";

/** Options of `createInferdMetrics`. */
export interface InferdMetricsOptions {
  /** Registry to register on; a new, dedicated one when absent. */
  registry?: Registry;
  /** Also collect Node process metrics (prefixed `inferd_`). Default true. */
  collectDefault?: boolean;
}

type RpcLabel = "grpc_service" | "grpc_method" | "grpc_type" | "protocol";
type ModelLabel = "model" | "version";

/**
 * Every inferd metric on one registry. Callers outside `metrics/` should use the
 * helpers (`recordInference`, `createBatchObserver`, ...) rather than these objects,
 * so that label names and units stay in one place.
 */
export interface InferdMetrics {
  readonly registry: Registry;
  readonly grpcStarted: Counter<RpcLabel>;
  readonly grpcHandled: Counter<RpcLabel | "grpc_code">;
  readonly grpcHandlingSeconds: Histogram<RpcLabel>;
  /**
   * What moves the three `grpc*` metrics above, per call, folded into them when they
   * are collected (see `rpc-metrics.ts`): never increment those metrics directly.
   */
  readonly rpcTallies: RpcTallies;
  /**
   * What moves the per-request and per-batch inference metrics (requests, request,
   * queue and compute seconds, batch size, queue depth), folded into them when they are collected
   * (see `model-metrics.ts`, `batch-observer.ts`): never observe those metrics directly.
   */
  readonly modelTallies: ModelTallies;
  readonly inferenceRequests: Counter<ModelLabel | "code">;
  readonly inferenceRequestSeconds: Histogram<ModelLabel>;
  readonly inferenceQueueSeconds: Histogram<ModelLabel>;
  readonly inferenceComputeSeconds: Histogram<ModelLabel>;
  readonly inferenceBatchSize: Histogram<ModelLabel>;
  readonly inferenceQueueDepth: Gauge<ModelLabel>;
  readonly inferenceRejected: Counter<ModelLabel | "kind">;
  readonly cacheHits: Counter<ModelLabel>;
  readonly cacheMisses: Counter<ModelLabel>;
  readonly modelState: Gauge<ModelLabel | "state">;
  readonly timeToFirstTokenSeconds: Histogram<ModelLabel>;
  readonly interTokenSeconds: Histogram<ModelLabel>;
  readonly generationTokens: Counter<ModelLabel | "kind">;
  readonly generationSequences: Gauge<ModelLabel | "state">;
  readonly generationWeightBytes: Gauge<ModelLabel>;
  readonly generationKvCacheBytes: Gauge<ModelLabel | "state">;
  readonly prefixCacheLookups: Counter<ModelLabel>;
  readonly prefixCacheHits: Counter<ModelLabel>;
  readonly prefixCacheTokensSaved: Counter<ModelLabel>;
  readonly prefixCacheBytes: Gauge<ModelLabel>;
  readonly httpRequests: Counter<"route" | "method" | "code">;
  readonly httpRequestSeconds: Histogram<"route">;
  readonly rateLimited: Counter<"key" | "limit">;
}

/** The per-call tallies of the per-RPC metrics (see {@link CounterTally}). */
export interface RpcTallies {
  readonly started: CounterTally<RpcLabel>;
  readonly handled: CounterTally<RpcLabel | "grpc_code">;
  readonly handlingSeconds: HistogramTally<RpcLabel>;
}

/**
 * The tallies of the per-request and per-batch inference metrics, keyed by the one
 * labels object per model version (and code) that `modelLabels` hands out.
 */
export interface ModelTallies {
  readonly requests: CounterTally<ModelLabel | "code">;
  readonly requestSeconds: HistogramTally<ModelLabel>;
  readonly queueSeconds: HistogramTally<ModelLabel>;
  readonly computeSeconds: HistogramTally<ModelLabel>;
  readonly batchSize: HistogramTally<ModelLabel>;
  readonly queueDepth: GaugeTally<ModelLabel>;
}

/** Latency buckets from 1 ms to 10 s: covers small CPU models up to large batches. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const INTER_TOKEN_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
/** Rows per run: 1, 2, 4, ..., 256. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const RPC_LABELS: RpcLabel[] = ["grpc_service", "grpc_method", "grpc_type", "protocol"];
const MODEL_LABELS: ModelLabel[] = ["model", "version"];

/**
 * Creates the inferd metrics on a dedicated registry (never prom-client's global
 * one, so that tests and several servers in one process do not collide). Names
 * follow Prometheus conventions: `inferd_` prefix, unit suffix, `_total` counters;
 * per-RPC metrics follow go-grpc-prometheus so existing dashboards apply.
 */
export function createInferdMetrics(options: InferdMetricsOptions = {}): InferdMetrics {
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new Counter<L>({ name, help, labelNames, registers });
  const gauge = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new Gauge<L>({ name, help, labelNames, registers });
  const histogram = <L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    buckets: number[],
  ) => new Histogram<L>({ name, help, labelNames, buckets, registers });
  const rpcTallies: RpcTallies = {
    started: createCounterTally(),
    handled: createCounterTally(),
    handlingSeconds: createHistogramTally(LATENCY_BUCKETS),
  };
  const modelTallies: ModelTallies = {
    requests: createCounterTally(),
    requestSeconds: createHistogramTally(LATENCY_BUCKETS),
    queueSeconds: createHistogramTally(LATENCY_BUCKETS),
    computeSeconds: createHistogramTally(LATENCY_BUCKETS),
    batchSize: createHistogramTally(BATCH_BUCKETS),
    queueDepth: createGaugeTally(),
  };
  const tallied = <L extends string>(
    name: string,
    help: string,
    buckets: number[],
    tally: HistogramTally<L>,
    labelNames: L[],
  ) =>
    new Histogram<L>({
      ...{ name, help, labelNames, buckets, registers },
      collect() {
        tally.foldInto(this);
      },
    });
  const modelAnd = <L extends string>(label: L): (ModelLabel | L)[] => [...MODEL_LABELS, label];

  const metrics: InferdMetrics = {
    registry,
    grpcStarted: new Counter({
      name: "inferd_grpc_server_started_total",
      help: "RPCs started on the server.",
      labelNames: RPC_LABELS,
      registers,
      collect() {
        rpcTallies.started.foldInto(this);
      },
    }),
    grpcHandled: new Counter({
      name: "inferd_grpc_server_handled_total",
      help: "RPCs completed on the server, regardless of success or failure.",
      labelNames: [...RPC_LABELS, "grpc_code"],
      registers,
      collect() {
        rpcTallies.handled.foldInto(this);
      },
    }),
    grpcHandlingSeconds: new Histogram({
      name: "inferd_grpc_server_handling_seconds",
      help: "Time from RPC start until the server sent its last message or error.",
      labelNames: RPC_LABELS,
      buckets: LATENCY_BUCKETS,
      registers,
      collect() {
        rpcTallies.handlingSeconds.foldInto(this);
      },
    }),
    rpcTallies,
    modelTallies,
    inferenceRequests: new Counter({
      name: "inferd_inference_requests_total",
      help: "Inference requests by final code.",
      labelNames: modelAnd("code"),
      registers,
      collect() {
        modelTallies.requests.foldInto(this);
      },
    }),
    inferenceRequestSeconds: tallied(
      "inferd_inference_request_duration_seconds",
      "End-to-end inference request time, queueing included.",
      LATENCY_BUCKETS,
      modelTallies.requestSeconds,
      MODEL_LABELS,
    ),
    inferenceQueueSeconds: tallied(
      "inferd_inference_queue_duration_seconds",
      "Time a request waited in the batching queue.",
      LATENCY_BUCKETS,
      modelTallies.queueSeconds,
      MODEL_LABELS,
    ),
    inferenceComputeSeconds: tallied(
      "inferd_inference_compute_duration_seconds",
      "Time one model run took.",
      LATENCY_BUCKETS,
      modelTallies.computeSeconds,
      MODEL_LABELS,
    ),
    inferenceBatchSize: tallied(
      "inferd_inference_batch_size",
      "Rows per model run.",
      BATCH_BUCKETS,
      modelTallies.batchSize,
      MODEL_LABELS,
    ),
    inferenceQueueDepth: new Gauge({
      name: "inferd_inference_queue_depth",
      help: "Requests waiting in the batching queue.",
      labelNames: MODEL_LABELS,
      registers,
      collect() {
        modelTallies.queueDepth.foldInto(this);
      },
    }),
    inferenceRejected: counter(
      "inferd_inference_rejected_total",
      "Requests the batcher refused before running them, by error kind.",
      modelAnd("kind"),
    ),
    cacheHits: counter("inferd_response_cache_hits_total", "Response cache hits.", MODEL_LABELS),
    cacheMisses: counter(
      "inferd_response_cache_misses_total",
      "Response cache misses.",
      MODEL_LABELS,
    ),
    modelState: gauge(
      "inferd_model_state",
      "1 for the version's current state, 0 otherwise.",
      modelAnd("state"),
    ),
    timeToFirstTokenSeconds: histogram(
      "inferd_generation_time_to_first_token_seconds",
      "Time from request arrival to the first generated token.",
      MODEL_LABELS,
      TTFT_BUCKETS,
    ),
    interTokenSeconds: histogram(
      "inferd_generation_inter_token_latency_seconds",
      "Time between consecutive generated tokens of one sequence.",
      MODEL_LABELS,
      INTER_TOKEN_BUCKETS,
    ),
    generationTokens: counter(
      "inferd_generation_tokens_total",
      "Tokens processed, by kind (prompt or completion).",
      modelAnd("kind"),
    ),
    generationSequences: gauge(
      "inferd_generation_sequences",
      "Sequences in the generation scheduler, by state (running or waiting).",
      modelAnd("state"),
    ),
    generationWeightBytes: gauge(
      "inferd_generation_weight_bytes",
      "Bytes of a generative version's weights (its initializers, external data included).",
      MODEL_LABELS,
    ),
    generationKvCacheBytes: gauge(
      "inferd_generation_kv_cache_bytes",
      "Bytes of a generative version's KV cache, by state (used: tokens cached; reserved: what its buffers hold).",
      modelAnd("state"),
    ),
    prefixCacheLookups: counter(
      "inferd_generation_prefix_cache_lookups_total",
      "Prompts looked up in a generative version's prefix cache.",
      MODEL_LABELS,
    ),
    prefixCacheHits: counter(
      "inferd_generation_prefix_cache_hits_total",
      "Prompts whose prefix (at least one 16-token block) was found in the prefix cache.",
      MODEL_LABELS,
    ),
    prefixCacheTokensSaved: counter(
      "inferd_generation_prefix_cache_tokens_saved_total",
      "Prompt tokens whose KV cache was copied from the prefix cache instead of prefilled.",
      MODEL_LABELS,
    ),
    prefixCacheBytes: gauge(
      "inferd_generation_prefix_cache_bytes",
      "Bytes of KV blocks a generative version's prefix cache holds.",
      MODEL_LABELS,
    ),
    httpRequests: counter(
      "inferd_http_requests_total",
      "Plain HTTP API requests (the OpenAI /v1 and Open Inference /v2 routes) by route, method and status code.",
      ["route", "method", "code"],
    ),
    httpRequestSeconds: histogram(
      "inferd_http_request_duration_seconds",
      "Time from an HTTP API request until its response (a whole stream) ended.",
      ["route"],
      LATENCY_BUCKETS,
    ),
    rateLimited: counter(
      "inferd_rate_limited_total",
      "Requests refused by an API key's rate limit, by key name (never the key) and limit (requests, generated_tokens).",
      ["key", "limit"],
    ),
  };
  if (options.collectDefault ?? true) collectNodeMetrics(registry);
  return metrics;
}

/**
 * prom-client's gauges that end in `_total`, which Prometheus reserves for counters
 * (`promtool check metrics` fails on them). Each is the sum of the gauge of the same
 * name without `_total` (by `type`), so nothing is lost: `sum(inferd_nodejs_active_handles)`.
 */
const GAUGES_NAMED_AS_COUNTERS = ["handles", "requests", "resources"].map(
  (what) => `inferd_nodejs_active_${what}_total`,
);

/** Node process metrics prefixed `inferd_`, without the ones named against the conventions. */
function collectNodeMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: "inferd_" });
  for (const name of GAUGES_NAMED_AS_COUNTERS) registry.removeSingleMetric(name);
}
