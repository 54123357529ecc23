import { ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logging/logger.js";
import { createObservingInterceptor } from "./observe-call.js";
import { peerOf } from "./peer-context.js";
import { isServerFaultCode } from "./rpc-code.js";
import { detectProtocol } from "./rpc-labels.js";

/**
 * Server interceptor that writes one access-log line per call:
 * `{procedure, protocol, code, duration_ms, peer, request_id, model, version}`.
 * Only identifying fields are read from messages, never tensors, prompts or
 * headers, so payloads and credentials stay out of the logs. Level: info for
 * "ok", error for server faults (with the error message, which the client never
 * sees), warn for everything else.
 */
export function createLoggingInterceptor(logger: Logger): Interceptor {
  return createObservingInterceptor((req) => {
    const procedure = `/${req.service.typeName}/${req.method.name}`;
    const protocol = detectProtocol(req.header.get("content-type"));
    const peer = peerOf(req);
    const headerRequestId = req.header.get("x-request-id") ?? undefined;
    return ({ code, durationMs, error, fields }) => {
      const line = {
        procedure,
        protocol,
        code,
        duration_ms: Math.round(durationMs * 1000) / 1000,
        peer,
        request_id: fields.requestId ?? headerRequestId,
        model: fields.model,
        version: fields.version,
      };
      if (code === "ok") logger.info(line, "rpc");
      else if (isServerFaultCode(code)) logger.error({ ...line, error: messageOf(error) }, "rpc");
      else logger.warn(line, "rpc");
    };
  });
}

/** The error's message, and its cause's: a mapped internal error hides the real one there. */
function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const message = error instanceof ConnectError ? error.rawMessage : error.message;
  return error.cause instanceof Error ? `${message}: ${error.cause.message}` : message;
}
