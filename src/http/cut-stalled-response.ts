import type { IncomingMessage, ServerResponse } from "node:http";
import http2, { type Http2ServerRequest, type Http2ServerResponse } from "node:http2";

/**
 * Ends an exchange whose client stopped reading, without waiting for it: an HTTP/2
 * stream is reset with ENHANCE_YOUR_CALM, which gRPC and Connect clients read as
 * resource_exhausted (the status of `--stream-stall-timeout-ms`); an HTTP/1.1
 * connection is closed. Why not trailers or an error event: they queue behind the
 * bytes the client left unread, so they would never be sent, and the writer awaiting
 * "drain" (connect-node's, the SSE writer) would hold the call open until the client
 * left. Closing the exchange fires its "close", which aborts the call's signal and
 * wakes that writer, so the call's lease and stream are let go at once.
 */
export function cutStalledResponse(
  req: IncomingMessage | Http2ServerRequest,
  res?: ServerResponse | Http2ServerResponse,
): void {
  if ("stream" in req) {
    const { stream } = req;
    if (stream.destroyed) return;
    stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    // The RST_STREAM above is what the client sees. Destroying the stream at once with
    // a "destroyed" error (instead of Node's ERR_HTTP2_STREAM_ERROR) fails the pending
    // write the way a client that left does: connect-node reads it as Aborted and does
    // not console.error the call as a handler failure.
    stream.destroy(
      Object.assign(new Error("the stream was cut: its client read nothing"), {
        code: "ERR_STREAM_DESTROYED",
      }),
    );
    return;
  }
  // HTTP/1.1 has no per-exchange reset: the connection goes (a stalled client holds
  // it alone, as HTTP/1.1 does not multiplex).
  (res ?? req).destroy();
  req.socket?.destroy();
}
