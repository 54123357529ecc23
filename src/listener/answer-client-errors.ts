import http from "node:http";
import type http2 from "node:http2";
import type { Duplex } from "node:stream";

/** A request Node's HTTP/1 parser refused, answered by Node's own status before any handler could. */
export interface ParserRefusal {
  /** 400 (bad framing: an invalid chunk, Content-Length with Transfer-Encoding, ...), 408, 413 or 431. */
  readonly status: number;
  /** Node's error code and reason, e.g. "HPE_INVALID_CHUNK_SIZE: Invalid character in chunk size". */
  readonly reason: string;
  /** The client's address, as the socket gives it. */
  readonly peer: string;
}

/** Node's answers other than 400, by error code (_http_server.js, socketOnError). */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

/**
 * Handles `server`'s "clientError" as Node does by default (Node 20's socketOnError:
 * `HTTP/1.1 <status>` with `Connection: close` when no response of the connection has
 * started, then the socket destroyed), and reports each refusal of Node's parser
 * (codes `HPE_*`, and the request timeout) to `report`. Why: Node answers those 400s
 * (an invalid chunk, Content-Length with Transfer-Encoding) with no request event, so
 * nothing logged them; a socket error (ECONNRESET) is the client gone, not reported.
 * Node skips its default once a listener exists, hence the copy of it.
 */
export function answerClientErrors(
  server: http.Server | http2.Http2SecureServer,
  report: (refusal: ParserRefusal) => void,
): void {
  // Node keeps the response being written on the socket (`_httpMessage`, internal):
  // the same, from the request events.
  const responses = new WeakMap<Duplex, http.ServerResponse>();
  server.on("request", (req: { socket: Duplex }, res: object) => {
    if (res instanceof http.ServerResponse) responses.set(req.socket, res);
  });
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    const code = error.code ?? "";
    // Read before the socket is destroyed: it forgets its address then.
    const peer = (socket as { remoteAddress?: string }).remoteAddress ?? "";
    const status = STATUS_BY_CODE[code] ?? 400;
    const res = responses.get(socket);
    const started = res?.headersSent === true && !res.writableFinished;
    if (socket.writable && !started) {
      socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
    }
    socket.destroy(error);
    if (code.startsWith("HPE_") || code === "ERR_HTTP_REQUEST_TIMEOUT") {
      report({ status, reason: `${code}: ${error.message}`, peer });
    }
  });
}
