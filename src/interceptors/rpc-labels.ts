import type { DescMethod } from "@bufbuild/protobuf";
import type { StreamRequest, UnaryRequest } from "@connectrpc/connect";
import type { RpcLabels, RpcProtocol, RpcType } from "../metrics/rpc-metrics.js";

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

/**
 * The per-RPC metric labels of a call to `method` with this request content type,
 * for callers that have no Connect request (the protocol refused the call first).
 */
export function rpcLabelsFor(method: DescMethod, contentType: string | null): RpcLabels {
  return {
    grpc_service: method.parent.typeName,
    grpc_method: method.name,
    grpc_type: RPC_TYPES[method.methodKind] ?? "unary",
    protocol: detectProtocol(contentType),
  };
}
