import type { DescMethod } from "@bufbuild/protobuf";
import type { StreamRequest, UnaryRequest } from "@connectrpc/connect";

/** Wire protocol of a call, as the `protocol` label spells it. */
export type RpcProtocol = "grpc" | "grpc_web" | "connect";

/** go-grpc-prometheus's `grpc_type` values. */
export type RpcType = "unary" | "client_stream" | "server_stream" | "bidi_stream";

/**
 * Labels that identify one RPC method on one protocol. They live here, with the rest
 * of an observed call's vocabulary, so that interceptors, logging, metrics and the
 * lean path share them without importing one another.
 */
export interface RpcLabels {
  /** Fully qualified service name, e.g. "inferd.v1.InferenceService". */
  readonly grpc_service: string;
  /** Method name, e.g. "Predict". */
  readonly grpc_method: string;
  readonly grpc_type: RpcType;
  readonly protocol: RpcProtocol;
}

/**
 * The wire protocol from a request's content type. `application/grpc-web` (and
 * `-web-text`) must be tested before `application/grpc`, which prefixes it; Connect
 * GET requests have no content type and count as Connect.
 */
export function detectProtocol(contentType: string | null): RpcProtocol {
  const type = (contentType ?? "").trim().toLowerCase();
  if (type.startsWith("application/grpc-web")) return "grpc_web";
  if (type.startsWith("application/grpc")) return "grpc";
  return "connect";
}

const RPC_TYPES: Record<string, RpcType> = {
  unary: "unary",
  server_streaming: "server_stream",
  client_streaming: "client_stream",
  bidi_streaming: "bidi_stream",
};

/** The per-RPC metric labels of a call as an interceptor sees it. */
export function rpcLabelsOf(req: UnaryRequest | StreamRequest): RpcLabels {
  return rpcLabelsFor(req.method, req.header.get("content-type"));
}

/** One frozen labels object per method and protocol: shared by every call's metrics and log. */
const LABELS = new WeakMap<DescMethod, Partial<Record<RpcProtocol, RpcLabels>>>();

/**
 * The per-RPC metric labels of a call to `method` with this request content type,
 * for callers that have no Connect request (the protocol refused the call first).
 * The same frozen object for every call of a method on a protocol: no allocation per
 * call, and prom-client, which keeps the first labels object of a series, may keep it.
 */
export function rpcLabelsFor(method: DescMethod, contentType: string | null): RpcLabels {
  const protocol = detectProtocol(contentType);
  let byProtocol = LABELS.get(method);
  if (byProtocol === undefined) {
    byProtocol = {};
    LABELS.set(method, byProtocol);
  }
  const known = byProtocol[protocol];
  if (known !== undefined) return known;
  const labels: RpcLabels = Object.freeze({
    grpc_service: method.parent.typeName,
    grpc_method: method.name,
    grpc_type: RPC_TYPES[method.methodKind] ?? "unary",
    protocol,
  });
  byProtocol[protocol] = labels;
  return labels;
}
