import type { Interceptor } from "@connectrpc/connect";
import { codeFromString } from "@connectrpc/connect/protocol-connect";
import {
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { peerOf } from "../observed-call/peer-context.js";
import { isServerFaultCode } from "../observed-call/rpc-code.js";
import { detectProtocol } from "../observed-call/rpc-labels.js";
import { type CallHook, createObservingInterceptor } from "./observe-call.js";

const headerGetter: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

/**
 * Server interceptor that records one OpenTelemetry SERVER span per call, named
 * `package.Service/Method`, as a child of the caller's W3C `traceparent` when the
 * registered propagator finds one. Attributes follow the RPC semantic conventions
 * (`rpc.system`, `rpc.service`, `rpc.method`, `rpc.grpc.status_code`) plus
 * `inferd.protocol`, `inferd.model`, `inferd.version` and `inferd.request_id`;
 * the status is ERROR only for server faults. Never payloads or headers.
 *
 * Uses only `@opentelemetry/api`: until an application registers an SDK (for example
 * with `node --import ./otel.mjs`), the tracer is a no-op, and a call costs a
 * propagator lookup and a non-recording span.
 */
export function createTracingInterceptor(tracer: Tracer = trace.getTracer("inferd")): Interceptor {
  return createObservingInterceptor(tracingCallHook(tracer));
}

/** The hook of {@link createTracingInterceptor}, to share one observing interceptor. */
export function tracingCallHook(tracer: Tracer = trace.getTracer("inferd")): CallHook {
  return (req) => {
    const parent = propagation.extract(ROOT_CONTEXT, req.header, headerGetter);
    const protocol = detectProtocol(req.header.get("content-type"));
    const span = tracer.startSpan(
      `${req.service.typeName}/${req.method.name}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "rpc.system": protocol === "connect" ? "connect_rpc" : "grpc",
          "rpc.service": req.service.typeName,
          "rpc.method": req.method.name,
          "inferd.protocol": protocol,
          "client.address": peerOf(req),
        },
      },
      parent,
    );
    // No SDK registered (or not sampled): nothing to record, so skip the observing.
    if (!span.isRecording()) return undefined;
    return ({ code, fields }) => {
      span.setAttribute("rpc.grpc.status_code", code === "ok" ? 0 : (codeFromString(code) ?? 2));
      if (fields.model !== undefined) span.setAttribute("inferd.model", fields.model);
      if (fields.version !== undefined) span.setAttribute("inferd.version", fields.version);
      if (fields.requestId !== undefined) span.setAttribute("inferd.request_id", fields.requestId);
      if (isServerFaultCode(code)) span.setStatus({ code: SpanStatusCode.ERROR, message: code });
      span.end();
    };
  };
}
