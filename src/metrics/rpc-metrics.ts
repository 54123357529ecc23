import type { InferdMetrics } from "./inferd-metrics.js";

/** Wire protocol of a call, as the `protocol` label spells it. */
export type RpcProtocol = "grpc" | "grpc_web" | "connect";

/** go-grpc-prometheus's `grpc_type` values. */
export type RpcType = "unary" | "client_stream" | "server_stream" | "bidi_stream";

/** Labels that identify one RPC method on one protocol. */
export interface RpcLabels {
  /** Fully qualified service name, e.g. "inferd.v1.InferenceService". */
  readonly grpc_service: string;
  /** Method name, e.g. "Predict". */
  readonly grpc_method: string;
  readonly grpc_type: RpcType;
  readonly protocol: RpcProtocol;
}

/** Counts an RPC the server started. */
export function recordRpcStarted(metrics: InferdMetrics, labels: RpcLabels): void {
  metrics.grpcStarted.inc({ ...labels });
}

/**
 * Counts an RPC the server finished with `code` (snake_case, "ok" on success) and
 * observes its handling time.
 */
export function recordRpcHandled(
  metrics: InferdMetrics,
  labels: RpcLabels,
  code: string,
  seconds: number,
): void {
  metrics.grpcHandled.inc({ ...labels, grpc_code: code });
  metrics.grpcHandlingSeconds.observe({ ...labels }, seconds);
}

/**
 * Counts an RPC that no interceptor saw, refused by the protocol before it started:
 * started and handled at once, so that both counters stay in step.
 */
export function recordRpcRefused(
  metrics: InferdMetrics,
  labels: RpcLabels,
  code: string,
  seconds: number,
): void {
  recordRpcStarted(metrics, labels);
  recordRpcHandled(metrics, labels, code, seconds);
}
