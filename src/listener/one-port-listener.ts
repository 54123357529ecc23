import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { NodeRequestHandler } from "../http/http-route.js";
import { answerClientErrors, type ParserRefusal } from "./answer-client-errors.js";
import {
  type BodyTimeoutOptions,
  guardHttp2Bodies,
  guardTlsHttp1Bodies,
  http1BodyTimeout,
} from "./body-timeout.js";
import { guardTlsHttp1Heads } from "./tls-http1-heads.js";

/** Claims an HTTP/2 stream (true: it answers it) or leaves it to the request handler (false). */
export type StreamClaim = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
) => boolean;

/** Options of `createOnePortListener`: the handler, TLS, the stream claim, and the connection limits. */
export interface OnePortListenerOptions {
  handler: NodeRequestHandler;
  /** PEM certificate and key: serve TLS, choosing h2 or HTTP/1.1 by ALPN. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /**
   * Sees every HTTP/2 stream before Node's compatibility layer turns it into a
   * request for `handler`; a stream it claims (returns true) is its own to answer.
   */
  claimStream?: StreamClaim;
  /**
   * How long a cleartext connection may stay silent before its first bytes tell HTTP/1
   * from HTTP/2 (default 15 s); then it is closed. Node's own header and request
   * timeouts start only once a server has the connection, so without this a client
   * could hold sockets open forever by sending nothing (or half a preface). With TLS,
   * the handshake's bound (Node's `handshakeTimeout`, 120 s by default).
   */
  firstBytesTimeoutMs?: number;
  /**
   * Streams one HTTP/2 connection may have open at once (advertised in SETTINGS; the
   * peer's extra streams are refused). Node's default is 2^32-1: one connection could
   * hold tens of thousands of half-sent requests.
   */
  maxConcurrentStreams?: number;
  /** HTTP/2 keepalive (see {@link keepAlive}); absent or `timeMs` 0: none. */
  keepalive?: KeepaliveOptions;
  /** How long a request body may take to arrive (body-timeout.ts); absent: Node's defaults. */
  bodyTimeout?: BodyTimeoutOptions;
  /**
   * Aborted when the server starts to drain: from then on, HTTP/1 responses whose
   * headers are not yet sent carry `Connection: close` (see {@link closingHttp1}).
   */
  closingSignal?: AbortSignal;
  /** Told of each HTTP/1 request Node's parser refuses (see `answerClientErrors`). */
  onParserRefusal?: (refusal: ParserRefusal) => void;
}

/** Like gRPC's server keepalive (Triton's `--grpc-keepalive-time` / `-timeout`). */
export interface KeepaliveOptions {
  /** A session this long without stream activity (data, headers, settings) is sent a PING. */
  readonly timeMs: number;
  /** A PING not acknowledged within this time closes the connection. */
  readonly timeoutMs: number;
}

/** The server's one port: HTTP/1.1 and HTTP/2 (cleartext by sniffing, or TLS by ALPN). */
export interface OnePortListener {
  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(port: number, host: string): Promise<number>;
  /**
   * Stops accepting connections, sends GOAWAY to HTTP/2 sessions and closes idle
   * HTTP/1 connections, destroys whatever is still open after `forceAfterMs`,
   * and resolves once every connection is gone. Call after calls have drained.
   */
  close(forceAfterMs?: number): Promise<void>;
}

/** What every HTTP/2 prior-knowledge (h2c) connection starts with. */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * One TCP port for gRPC (h2c with prior knowledge), gRPC-Web, Connect and plain
 * HTTP over HTTP/1.1 and HTTP/2. Node's cleartext HTTP/2 server refuses HTTP/1.1,
 * so a `net.Server` peeks at each connection's first bytes and hands it to an
 * HTTP/2 or an HTTP/1 server. With TLS, one secure HTTP/2 server with
 * `allowHTTP1` lets ALPN decide.
 */
export function createOnePortListener(options: OnePortListenerOptions): OnePortListener {
  const { tls } = options;
  const handler = options.closingSignal
    ? closingHttp1(options.handler, options.closingSignal)
    : options.handler;
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const trackSession = (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    if (options.keepalive && options.keepalive.timeMs > 0) keepAlive(session, options.keepalive);
  };
  const h1 = http.createServer(http1BodyTimeout(options.bodyTimeout?.ms ?? 0), handler);
  const { onParserRefusal } = options;
  if (onParserRefusal) answerClientErrors(h1, onParserRefusal);
  // Node tracks HTTP/1 connections (for closeIdleConnections) from "listening"; h1 never listens itself.
  h1.emit("listening");
  const settings: http2.Settings =
    options.maxConcurrentStreams === undefined
      ? {}
      : { maxConcurrentStreams: options.maxConcurrentStreams };
  const h2 = claimingStreams(http2.createServer({ settings }, handler), options.claimStream);
  h2.on("session", trackSession);
  if (options.bodyTimeout) guardHttp2Bodies(h2, options.bodyTimeout);
  const secure = tls
    ? claimingStreams(
        http2.createSecureServer(
          {
            ...tls,
            settings,
            allowHTTP1: true,
            ALPNProtocols: ["h2", "http/1.1"],
            handshakeTimeout: options.firstBytesTimeoutMs ?? 15_000,
          },
          handler,
        ),
        options.claimStream,
      ).on("session", trackSession)
    : undefined;
  if (secure && options.bodyTimeout) {
    guardHttp2Bodies(secure, options.bodyTimeout);
    guardTlsHttp1Bodies(secure, options.bodyTimeout.ms);
  }
  if (secure) {
    const bodyMs = options.bodyTimeout?.ms ?? 0;
    guardTlsHttp1Heads(secure, { headMs: Math.min(bodyMs > 0 ? bodyMs : 60_000, 60_000) });
  }
  if (secure && onParserRefusal) answerClientErrors(secure, onParserRefusal);
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    if (secure) secure.emit("connection", socket);
    else dispatchByPreface(socket, h1, h2, options.firstBytesTimeoutMs ?? 15_000);
  });
  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          const address = server.address();
          resolve(typeof address === "object" && address !== null ? address.port : port);
        });
      });
    },
    async close(forceAfterMs = 2000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.close();
      // Keep-alive HTTP/1 connections become idle as their last responses finish.
      const idleSweep = setInterval(() => h1.closeIdleConnections(), 50);
      h1.closeIdleConnections();
      const force = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, forceAfterMs);
      if (sockets.size === 0) server.close();
      await closed;
      clearInterval(idleSweep);
      clearTimeout(force);
      h1.emit("close");
    },
  };
}

/**
 * Makes HTTP/1 responses say `Connection: close` once `closing` aborts, those in
 * progress included, and closes their sockets after them. Why: a keep-alive client
 * reuses an idle connection for its next request, and when the drain ends that
 * connection is closed under it (ECONNRESET, the request possibly sent, not safely
 * retried). Told to close, the client opens a new connection and gets Unavailable
 * or a refused connection, both safe to retry. HTTP/2 has GOAWAY for this.
 */
function closingHttp1(handler: NodeRequestHandler, closing: AbortSignal): NodeRequestHandler {
  const open = new Set<http.ServerResponse>();
  const close = (res: http.ServerResponse) => {
    if (!res.headersSent) res.setHeader("connection", "close");
  };
  closing.addEventListener("abort", () => open.forEach(close), { once: true });
  return (req, res) => {
    if (res instanceof http.ServerResponse) {
      if (closing.aborted) close(res);
      else {
        open.add(res);
        res.once("close", () => open.delete(res));
      }
    }
    handler(req, res);
  };
}

/**
 * Puts `claim` in front of the server's own "stream" listeners (the compatibility
 * layer that makes requests for the handler), which then see only unclaimed streams.
 */
function claimingStreams<S extends http2.Http2Server | http2.Http2SecureServer>(
  server: S,
  claim: StreamClaim | undefined,
): S {
  if (claim === undefined) return server;
  const compat = server.listeners("stream");
  server.removeAllListeners("stream");
  server.on("stream", (stream: http2.ServerHttp2Stream, headers, ...rest: unknown[]) => {
    if (claim(stream, headers)) return;
    for (const listener of compat) listener.call(server, stream, headers, ...rest);
  });
  return server;
}

/**
 * Pings a session each time it has been quiet for `timeMs` and destroys it when a
 * PING is not acknowledged in `timeoutMs`: the peer is gone or the session is dead.
 * Why: when nghttp2 ends a session itself (GOAWAY after a burst of ~1,000 stream
 * resets, its rapid-reset guard) Node stops reading the socket and tells JS nothing,
 * so the client's FIN is never seen and the connection stayed in CLOSE-WAIT for good.
 * A closing session (GOAWAY sent or received) is left to finish its streams.
 */
function keepAlive(session: http2.ServerHttp2Session, { timeMs, timeoutMs }: KeepaliveOptions) {
  let pinging = false;
  session.on("timeout", () => {
    if (pinging || session.closed || session.destroyed) return;
    pinging = true;
    let answered = false;
    // Timers run before I/O in a loop turn: after a stall longer than `timeoutMs` the ack
    // may wait unread in the socket. Look again once this turn's I/O has been read.
    const unanswered = setTimeout(
      () => setImmediate(() => answered || session.destroy()),
      timeoutMs,
    );
    unanswered.unref();
    session.ping((error) => {
      answered = true;
      pinging = false;
      clearTimeout(unanswered);
      // An ack is not activity to Node's session timer: re-arm it for the next quiet spell.
      if (error === null && !session.destroyed) session.setTimeout(timeMs);
    });
  });
  session.setTimeout(timeMs);
}

/** Waits for enough bytes to tell h2c from HTTP/1, puts them back, and hands the socket over. */
function dispatchByPreface(
  socket: net.Socket,
  h1: http.Server,
  h2: http2.Http2Server,
  timeoutMs: number,
): void {
  let seen = Buffer.alloc(0);
  const onError = () => socket.destroy();
  const silent = setTimeout(() => socket.destroy(), timeoutMs);
  socket.once("close", () => clearTimeout(silent));
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, H2_PREFACE.length);
    const isH2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (isH2 && seen.length < H2_PREFACE.length) return;
    clearTimeout(silent);
    socket.off("data", onData);
    socket.off("error", onError);
    socket.pause();
    socket.unshift(seen);
    if (isH2) {
      // The HTTP/2 session drains bytes already buffered on the socket when it sets up.
      h2.emit("connection", socket);
    } else {
      h1.emit("connection", socket);
      // The HTTP/1 parser reads the native handle; resuming flushes the put-back bytes to it.
      socket.resume();
    }
  };
  socket.on("data", onData);
  socket.on("error", onError);
}
