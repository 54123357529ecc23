import type http from "node:http";
import http2 from "node:http2";

/** Options of the request-body timeout: how long, and which HTTP/2 streams are exempt. */
export interface BodyTimeoutOptions {
  /** How long a request body may take to arrive in full; 0 means no limit. */
  readonly ms: number;
  /**
   * Paths whose request body stays open by design (client- and bidi-streaming RPCs,
   * PredictStream): their streams are not timed.
   */
  readonly openBody?: (path: string) => boolean;
}

/**
 * The HTTP/1.1 server options that bound how long a request may take to arrive: Node
 * answers 408 and closes the connection when its head and body are not in by
 * `requestTimeout` (its default, 300 s, lets a slow client pin a socket and a handler
 * for five minutes). Node checks only every `connectionsCheckingInterval` (30 s by
 * default), so the interval follows the timeout.
 */
export function http1BodyTimeout(ms: number): http.ServerOptions {
  if (ms <= 0) return {};
  return {
    requestTimeout: ms,
    headersTimeout: Math.min(ms, 60_000),
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(ms / 4))),
  };
}

/**
 * Times each HTTP/2 stream's request body (Node has no HTTP/2 counterpart of
 * `requestTimeout`): a stream whose body has not ended `ms` after its headers is reset
 * with CANCEL, which gRPC and Connect clients read as CANCELED, and its handler sees the
 * request aborted. Streams without a body (END_STREAM on the headers) and the
 * `openBody` paths are left alone.
 */
export function guardHttp2Bodies(
  server: http2.Http2Server | http2.Http2SecureServer,
  options: BodyTimeoutOptions,
): void {
  if (options.ms <= 0) return;
  server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    if (stream.endAfterHeaders) return;
    const path = headers[":path"] ?? "";
    if (options.openBody?.(path.split("?")[0] ?? "")) return;
    const timer = setTimeout(() => {
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
    }, options.ms);
    timer.unref();
    const done = () => clearTimeout(timer);
    stream.once("end", done);
    stream.once("close", done);
  });
}
