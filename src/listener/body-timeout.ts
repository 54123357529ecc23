import http from "node:http";
import http2 from "node:http2";
import type { Duplex } from "node:stream";

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
    // \`on\`, not \`once\`: each comes once per stream, and clearing twice is harmless;
    // a once-wrapper each is garbage on every call.
    stream.on("end", done);
    stream.on("close", done);
  });
}

/**
 * Times the HTTP/1.1 requests of a TLS server that also takes HTTP/1.1 (`allowHTTP1`):
 * Node's `requestTimeout` belongs to `http.Server` and does not reach them. A request
 * whose body has not ended `ms` after its head is refused as Node refuses one on plain
 * HTTP/1.1: the server's "clientError" with ERR_HTTP_REQUEST_TIMEOUT (see
 * `answerClientErrors`: 408, `Connection: close`, reported), or Node's own 408 when
 * nothing listens; the connection closes either way.
 */
export function guardTlsHttp1Bodies(server: http2.Http2SecureServer, ms: number): void {
  if (ms <= 0) return;
  server.on("request", (req: unknown, res: http.ServerResponse) => {
    // HTTP/2 streams come as Http2ServerRequest: guardHttp2Bodies times those.
    if (!(req instanceof http.IncomingMessage)) return;
    const timer = setTimeout(() => {
      if (!req.complete) refuseTimedOut(req.socket);
    }, ms);
    timer.unref();
    res.once("close", () => clearTimeout(timer));
  });
}

/**
 * What Node does on its own timeout (`onRequestTimeout` → `socketOnError`): the error
 * goes to the socket's HTTP error handler, which detaches itself and hands it to the
 * server's "clientError" (or answers Node's 408 when nothing listens). Emitting it on
 * the socket, not on the server, keeps that handler from reporting it twice.
 */
export function refuseTimedOut(socket: Duplex): void {
  socket.emit(
    "error",
    Object.assign(new Error("Request timeout"), { code: "ERR_HTTP_REQUEST_TIMEOUT" }),
  );
}
