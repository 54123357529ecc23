import type { Interceptor } from "@connectrpc/connect";
import { callerKeyName } from "../auth/caller-key.js";
import { logRpcCall } from "../logging/log-rpc-call.js";
import type { Logger } from "../logging/logger.js";
import type { RpcCall } from "../observed-call/rpc-call.js";
import { type CallHook, createObservingInterceptor } from "./observe-call.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Server interceptor that writes one access-log line per call (see {@link logRpcCall}
 * for its fields and levels), and marks the call as observed so that the transport
 * does not log it again as refused.
 */
export function createLoggingInterceptor(logger: Logger): Interceptor {
  return createObservingInterceptor(accessLogCallHook(logger));
}

/** The hook of {@link createLoggingInterceptor}, to share one observing interceptor. */
export function accessLogCallHook(logger: Logger): CallHook {
  const log = logRpcCall(logger);
  return (req, start) => {
    if (!start.claim()) return undefined;
    const { labels, peer } = start;
    const headerRequestId = req.header.get("x-request-id") ?? undefined;
    // Read at the end: the API-key interceptor, inside this one, sets it.
    return (end) => {
      // Built field by field, not spread: spreads build a slow object per call.
      const call: Mutable<RpcCall> = {
        labels,
        peer,
        headerRequestId,
        code: end.code,
        durationMs: end.durationMs,
        fields: end.fields,
      };
      const key = req.contextValues.get(callerKeyName);
      if (key !== undefined) call.key = key;
      if (end.error !== undefined) call.error = end.error;
      log(call);
    };
  };
}
