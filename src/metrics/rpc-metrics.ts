import { grpcCodeName } from "../observed-call/rpc-code.js";
import type { RpcLabels } from "../observed-call/rpc-labels.js";
import type { InferdMetrics } from "./inferd-metrics.js";

/** Counts an RPC the server started. */
export function recordRpcStarted(metrics: InferdMetrics, labels: RpcLabels): void {
  // Tallied, folded in at scrape: prom-client keeps the labels object, never mutated.
  metrics.rpcTallies.started.inc(labels);
}

/**
 * Counts an RPC the server finished with `code` (snake_case, "ok" on success; the
 * series says it as grpc-go does, "OK", see `grpcCodeName`) and observes its handling time.
 */
export function recordRpcHandled(
  metrics: InferdMetrics,
  labels: RpcLabels,
  code: string,
  seconds: number,
): void {
  metrics.rpcTallies.handled.inc(handledLabels(labels, code));
  metrics.rpcTallies.handlingSeconds.observe(labels, seconds);
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

type HandledLabels = RpcLabels & { readonly grpc_code: string };

/** Per labels object (one per method and protocol, see `rpcLabelsFor`), per code. */
const HANDLED = new WeakMap<RpcLabels, Map<string, HandledLabels>>();

/** The labels of a handled call, one object per series instead of one per call. */
function handledLabels(labels: RpcLabels, code: string): HandledLabels {
  let byCode = HANDLED.get(labels);
  if (byCode === undefined) {
    byCode = new Map();
    HANDLED.set(labels, byCode);
  }
  let handled = byCode.get(code);
  if (handled === undefined) {
    // A literal, not a spread: V8 builds a spread's extra property into a slow object.
    handled = Object.freeze({
      grpc_service: labels.grpc_service,
      grpc_method: labels.grpc_method,
      grpc_type: labels.grpc_type,
      protocol: labels.protocol,
      grpc_code: grpcCodeName(code),
    });
    // Codes are a closed set of 17; the bound only guards against a caller's typo loop.
    if (byCode.size < 64) byCode.set(code, handled);
  }
  return handled;
}
