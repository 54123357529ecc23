import http2 from "node:http2";
import net from "node:net";

/**
 * Sends `head` (request line and headers, up to and including the blank line) and
 * `body` on a fresh socket and resolves with the whole raw response once the server
 * closes it, the Date line dropped. Why raw: comparing two servers byte for byte
 * (status line, header order and case, chunk framing) needs what went on the wire.
 * The request should say `connection: close`, or the server must close the socket.
 */
export function rawHttp1(port: number, head: string, body: Uint8Array): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () =>
      resolve(
        Buffer.concat(chunks)
          .toString("latin1")
          .replace(/\r\nDate: [^\r]*/, ""),
      ),
    );
    socket.write(head);
    // No half-close: the one-port listener's sockets do not allow half-open connections.
    socket.write(body);
  });
}

/** What `viaHttp2` saw of a response: headers (no date), reset code, stream error, body as hex. */
export interface Http2Exchange {
  readonly head: http2.IncomingHttpHeaders;
  readonly rstCode: number | undefined;
  /** The stream's error code (e.g. ERR_HTTP2_STREAM_ERROR), if it ended in one. */
  readonly error: string | undefined;
  readonly body: string;
}

/**
 * Sends one request with `headers` and `body` on a fresh HTTP/2 session and resolves
 * with the response once its stream closes, even in an error (it is part of the
 * answer); the session is closed after. Only the `date` header is dropped, so that
 * two servers' answers compare with `toEqual`.
 */
export async function viaHttp2(
  port: number,
  headers: http2.OutgoingHttpHeaders,
  body: Uint8Array,
): Promise<Http2Exchange> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    return await new Promise((resolve, reject) => {
      const stream = session.request(headers);
      let head: http2.IncomingHttpHeaders = {};
      let error: string | undefined;
      const chunks: Buffer[] = [];
      session.on("error", reject);
      stream.on("response", (received) => (head = received));
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", (reason: NodeJS.ErrnoException) => (error = reason.code ?? "?"));
      stream.on("close", () => {
        const { date: _, ...rest } = head;
        const hex = Buffer.concat(chunks).toString("hex");
        resolve({ head: rest, rstCode: stream.rstCode, error, body: hex });
      });
      // A GET (or HEAD) request's stream is ended by the client at once.
      if (stream.writable) stream.end(body);
    });
  } finally {
    session.close();
  }
}
