import type { Interceptor } from "@connectrpc/connect";
import { codeFromString } from "@connectrpc/connect/protocol-connect";
import {
  ProxyTracerProvider,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { isServerFaultCode } from "../observed-call/rpc-code.js";
import { type CallHook, createObservingInterceptor } from "./observe-call.js";

const headerGetter: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

/** The API's no-op provider: what a {@link ProxyTracerProvider} delegates to until an SDK registers. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/**
 * True while no SDK is registered: the global provider is the API's proxy still
 * delegating to the no-op provider, so the global tracer's spans record nothing.
 * Checked per call: an SDK may register after the server starts.
 */
function noGlobalTracerSdk(): boolean {
  const provider = trace.getTracerProvider();
  return provider instanceof ProxyTracerProvider && provider.getDelegate() === NOOP_PROVIDER;
}

/**
 * Server interceptor that records one OpenTelemetry SERVER span per call, named
 * `package.Service/Method`, as a child of the caller's W3C `traceparent` when the
 * registered propagator finds one. Attributes follow the RPC semantic conventions
 * (`rpc.system`, `rpc.service`, `rpc.method`, `rpc.grpc.status_code`) plus
 * `inferd.protocol`, `inferd.model`, `inferd.version` and `inferd.request_id`;
 * the status is ERROR only for server faults. Never payloads or headers.
 *
 * Uses only `@opentelemetry/api`: until an application registers an SDK (for example
 * with `node --import ./otel.mjs`), the global tracer is a no-op, and a call costs one
 * look at the global provider (no span, no attributes, no header read).
 */
export function createTracingInterceptor(tracer?: Tracer): Interceptor {
  return createObservingInterceptor(tracingCallHook(tracer));
}

/**
 * The hook of {@link createTracingInterceptor}, to share one observing interceptor.
 * Without `tracer`, the global one ("inferd"), skipped while no SDK is registered.
 */
export function tracingCallHook(tracer?: Tracer): CallHook {
  const noSdk = tracer === undefined ? noGlobalTracerSdk : () => false;
  const spans = tracer ?? trace.getTracer("inferd");
  return (req, start) => {
    if (noSdk()) return undefined;
    const parent = propagation.extract(ROOT_CONTEXT, req.header, headerGetter);
    const protocol = start.labels.protocol;
    const span = spans.startSpan(
      `${req.service.typeName}/${req.method.name}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "rpc.system": protocol === "connect" ? "connect_rpc" : "grpc",
          "rpc.service": req.service.typeName,
          "rpc.method": req.method.name,
          "inferd.protocol": protocol,
          "client.address": start.peer,
        },
      },
      parent,
    );
    // Not sampled (or a no-op tracer passed in): nothing to record, so skip the observing.
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
