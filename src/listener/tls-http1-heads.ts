import http from "node:http";
import type http2 from "node:http2";
import type { TLSSocket } from "node:tls";
import { refuseTimedOut } from "./body-timeout.js";

/** How long an HTTP/1.1-over-TLS connection may wait for each request head. */
export interface TlsHttp1HeadOptions {
  /** From the handshake, and from the end of each response, to a whole request head. */
  readonly headMs: number;
  /** Idle time after a response before the connection closes: http.Server's `keepAliveTimeout` (5 s). */
  readonly keepAliveMs?: number;
}

/** Node's HTTP/1 code reads these off whichever server accepted the connection. */
interface Http1Timeouts {
  keepAliveTimeout?: number;
}

/**
 * Bounds the wait for the request heads of a TLS server's HTTP/1.1 connections
 * (`allowHTTP1`). Node's `headersTimeout`, its connection sweep and its keep-alive
 * default belong to `http.Server` and never reach them, so a connection that dribbled
 * a head one byte at a time, or went quiet after its handshake or its last response,
 * held its socket for good (a few hundred such sockets exhaust a process's files).
 * Now a head must be in `headMs` after the handshake or the end of the connection's
 * last response: when some bytes came, the connection is refused as Node refuses a
 * late head on plain HTTP/1.1 (408 through "clientError", then closed); when none
 * came, it closes silently, as an idle keep-alive connection does.
 */
export function guardTlsHttp1Heads(server: http2.Http2SecureServer, options: TlsHttp1HeadOptions) {
  (server as Http1Timeouts).keepAliveTimeout = options.keepAliveMs ?? 5_000;
  const waits = new WeakMap<TLSSocket, { timer?: NodeJS.Timeout; inFlight: number }>();
  const arm = (socket: TLSSocket) => {
    const wait = waits.get(socket);
    if (wait === undefined || wait.inFlight > 0 || socket.destroyed) return;
    const from = socket.bytesRead;
    wait.timer = setTimeout(() => {
      if (socket.destroyed || wait.inFlight > 0) return;
      if (socket.bytesRead > from) refuseTimedOut(socket);
      else socket.destroy();
    }, options.headMs);
    wait.timer.unref();
  };
  server.on("secureConnection", (socket: TLSSocket) => {
    if (socket.alpnProtocol === "h2") return;
    waits.set(socket, { inFlight: 0 });
    socket.once("close", () => clearTimeout(waits.get(socket)?.timer));
    arm(socket);
  });
  server.on("request", (req: unknown, res: http.ServerResponse) => {
    // HTTP/2 streams come as Http2ServerRequest; pipelined heads count while they are served.
    if (!(req instanceof http.IncomingMessage)) return;
    const socket = req.socket as TLSSocket;
    const wait = waits.get(socket);
    if (wait === undefined) return;
    clearTimeout(wait.timer);
    wait.inFlight += 1;
    res.once("close", () => {
      wait.inFlight -= 1;
      arm(socket);
    });
  });
}
