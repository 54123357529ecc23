import type { Interceptor } from "@connectrpc/connect";
import type { InferdMetrics } from "../metrics/inferd-metrics.js";
import { recordRpcHandled, recordRpcStarted } from "../metrics/rpc-metrics.js";
import { type CallHook, createObservingInterceptor } from "./observe-call.js";

/**
 * Server interceptor for the per-RPC metrics (`inferd_grpc_server_*`): counts
 * each call when it starts and when it ends, with its final code, and observes
 * its handling time. Streams count when the response stream ends. Marks the call
 * as observed, so that the transport does not count it again as refused.
 */
export function createMetricsInterceptor(metrics: InferdMetrics): Interceptor {
  return createObservingInterceptor(metricsCallHook(metrics));
}

/** The hook of {@link createMetricsInterceptor}, to share one observing interceptor. */
export function metricsCallHook(metrics: InferdMetrics): CallHook {
  return (_req, start) => {
    if (!start.claim()) return undefined;
    const labels = start.labels;
    recordRpcStarted(metrics, labels);
    return (end) => recordRpcHandled(metrics, labels, end.code, end.durationMs / 1000);
  };
}
