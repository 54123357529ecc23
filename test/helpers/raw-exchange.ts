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

/** One response read off a kept-alive HTTP/1.1 connection. */
export interface RawHttp1Response {
  readonly status: number;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A raw keep-alive HTTP/1.1 connection: one request at a time, responses framed by content-length. */
export interface RawHttp1Connection {
  /** Writes one request; resolves with its response (which must carry content-length). */
  request(head: string, body?: string): Promise<RawHttp1Response>;
  /** Resolves once the server closed the connection, with the socket's error code if any. */
  readonly closed: Promise<string | undefined>;
  destroy(): void;
}

/**
 * Opens a socket that sends requests as a keep-alive client would, reusing the
 * connection. Why raw: a pooled client hides whether the server asked to close it.
 */
export async function openRawHttp1(port: number): Promise<RawHttp1Connection> {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let buffered = Buffer.alloc(0);
  let waiting: ((response: RawHttp1Response) => void) | undefined;
  let errorCode: string | undefined;
  socket.on("error", (error: NodeJS.ErrnoException) => (errorCode = error.code ?? "?"));
  const closed = new Promise<string | undefined>((resolve) =>
    socket.once("close", () => resolve(errorCode)),
  );
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf("\r\n\r\n");
    if (end === -1 || waiting === undefined) return;
    const [statusLine = "", ...lines] = buffered.subarray(0, end).toString("latin1").split("\r\n");
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers["content-length"] ?? 0);
    if (buffered.length < end + 4 + length) return;
    const body = buffered.subarray(end + 4, end + 4 + length).toString("utf8");
    buffered = buffered.subarray(end + 4 + length);
    const resolve = waiting;
    waiting = undefined;
    resolve({ status: Number(statusLine.split(" ")[1]), headers, body });
  });
  return {
    request(head, body = "") {
      return new Promise((resolve) => {
        waiting = resolve;
        socket.write(head + body);
      });
    },
    closed,
    destroy: () => socket.destroy(),
  };
}
