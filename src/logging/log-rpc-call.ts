import { ConnectError } from "@connectrpc/connect";
import type { RpcCall } from "../observed-call/rpc-call.js";
import { isServerFaultCode } from "../observed-call/rpc-code.js";
import type { RpcLabels } from "../observed-call/rpc-labels.js";
import type { Logger } from "./logger.js";

/**
 * The access-log line of one call, the same whether an interceptor or the transport
 * (a refused call) saw it end: `{procedure, protocol, code, duration_ms, peer,
 * request_id, model, version, key}` (`key`: the API key's name, never the key). Only identifying fields, never tensors, prompts or
 * headers, so payloads and credentials stay out of the logs. Level: info for "ok";
 * error for server faults, with the error message (which the client never sees);
 * warn for the rest. A refused call is warn whatever its code (connect-es answers an
 * undecodable body Internal, but no server code ran), with `refused: true` and the
 * message the client got.
 */
export function logRpcCall(logger: Logger): (call: RpcCall) => void {
  const loggerOf = methodLoggers(logger);
  return (call) => {
    const fields = call.fields;
    // procedure and protocol are the child's bindings: the same bytes, in the same place.
    const line = {
      code: call.code,
      duration_ms: Math.round(call.durationMs * 1000) / 1000,
      peer: call.peer,
      request_id: fields.requestId ?? call.headerRequestId,
      model: fields.model,
      version: fields.version,
      key: call.key,
    };
    const log = loggerOf(call.labels);
    if (call.refused) log.warn({ ...line, refused: true, error: messageOf(call.error) }, "rpc");
    else if (call.code === "ok") log.info(line, "rpc");
    else if (isServerFaultCode(call.code)) {
      log.error({ ...line, error: messageOf(call.error) }, "rpc");
    } else log.warn(line, "rpc");
  };
}

/** The error's message, and its cause's: a mapped internal error hides the real one there. */
function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const message = error instanceof ConnectError ? error.rawMessage : error.message;
  return error.cause instanceof Error ? `${message}: ${error.cause.message}` : message;
}

/**
 * A child logger per labels object (one per method and protocol) with `procedure` and
 * `protocol` bound: pino serializes bindings once, at the child's creation, and writes
 * them before the logged object's fields, where the line had them.
 */
function methodLoggers(logger: Logger): (labels: RpcLabels) => Logger {
  const children = new WeakMap<RpcLabels, Logger>();
  return (labels) => {
    let child = children.get(labels);
    if (child === undefined) {
      child = logger.child({
        procedure: `/${labels.grpc_service}/${labels.grpc_method}`,
        protocol: labels.protocol,
      });
      children.set(labels, child);
    }
    return child;
  };
}
