import http from "node:http";
import type http2 from "node:http2";
import { Code } from "@connectrpc/connect";

/** What a protocol answered, in one shape for every protocol. */
export interface Outcome {
  /** The HTTP status (200 for a gRPC or gRPC-Web call whatever its grpc-status); 0 when none arrived. */
  readonly status: number;
  /**
   * The RPC code in Connect's snake_case ("invalid_argument", "ok"), from grpc-status
   * or a Connect error body; "" for plain HTTP routes and for answers that carry none.
   */
  readonly code: string;
  /** grpc-message (decoded), a Connect error's message, or a plain HTTP body. */
  readonly message: string;
}

/** One HTTP request as it goes on the wire. */
export interface WireRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** A gRPC / gRPC-Web length-prefixed message: `flags`, then `declared` as the length. */
export function envelope(data: Uint8Array, flags = 0, declared = data.byteLength): Uint8Array {
  const out = Buffer.alloc(5 + data.byteLength);
  out.writeUInt8(flags, 0);
  out.writeUInt32BE(declared >>> 0, 1);
  out.set(data, 5);
  return out;
}

/** The snake_case name of a numeric gRPC status ("3" → "invalid_argument"). */
export function codeName(grpcStatus: string | number): string {
  if (Number(grpcStatus) === 0) return "ok";
  const name = Code[Number(grpcStatus)];
  if (name === undefined) return `grpc-status ${grpcStatus}`;
  return name.replace(/[a-z](?=[A-Z])/g, (c) => `${c}_`).toLowerCase();
}

const header = (h: http2.IncomingHttpHeaders | http.IncomingHttpHeaders, name: string) => {
  const value = h[name];
  return Array.isArray(value) ? value.join(",") : (value ?? undefined);
};

/** The code of a gRPC answer: trailers first, then a trailers-only head; "" when neither has one. */
function grpcOutcome(
  status: number,
  head: http2.IncomingHttpHeaders,
  trailers: http2.IncomingHttpHeaders,
): Outcome {
  const grpcStatus = header(trailers, "grpc-status") ?? header(head, "grpc-status");
  const message = header(trailers, "grpc-message") ?? header(head, "grpc-message") ?? "";
  return {
    status,
    code: grpcStatus === undefined ? "" : codeName(grpcStatus),
    message: safeDecode(message),
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The trailer frame of a gRPC-Web body as headers; undefined when the body has none. */
function grpcWebTrailer(body: Buffer): Record<string, string> | undefined {
  for (let at = 0; at + 5 <= body.byteLength; at += 5 + body.readUInt32BE(at + 1)) {
    if (((body[at] ?? 0) & 0x80) === 0) continue;
    const text = body.subarray(at + 5, at + 5 + body.readUInt32BE(at + 1)).toString();
    const fields: Record<string, string> = {};
    for (const line of text.split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon > 0)
        fields[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    return fields;
  }
  return undefined;
}

/**
 * Reads any answer as an {@link Outcome}: gRPC by its grpc-status (head, trailers or
 * gRPC-Web trailer frame), a Connect error body by its `code`, anything else by status
 * and body text.
 */
export function outcomeOf(
  status: number,
  head: http2.IncomingHttpHeaders | http.IncomingHttpHeaders,
  trailers: http2.IncomingHttpHeaders,
  body: Buffer,
): Outcome {
  const type = header(head, "content-type") ?? "";
  if (type.startsWith("application/grpc-web")) {
    const fields = grpcWebTrailer(body) ?? {};
    return grpcOutcome(status, { ...head, ...fields }, {});
  }
  if (type.startsWith("application/grpc")) return grpcOutcome(status, head, trailers);
  if (type.startsWith("application/connect+")) {
    const end = endStreamJson(body);
    const parsed = end === undefined ? undefined : parseConnectError(end);
    if (parsed !== undefined) return { status, ...parsed };
    return { status, code: end === undefined ? "" : "ok", message: end ?? "" };
  }
  const text = body.toString("utf8");
  if (type.startsWith("application/json")) {
    const parsed = parseConnectError(text);
    if (parsed !== undefined) return { status, ...parsed };
  }
  const grpcStatus = header(head, "grpc-status");
  if (grpcStatus !== undefined) return grpcOutcome(status, head, trailers);
  return { status, code: status === 200 ? "ok" : "", message: text.slice(0, 2000) };
}

/** The JSON of a Connect stream's end-of-stream envelope (flag 0x02); undefined when it has none. */
function endStreamJson(body: Buffer): string | undefined {
  for (let at = 0; at + 5 <= body.byteLength; at += 5 + body.readUInt32BE(at + 1)) {
    if (((body[at] ?? 0) & 0x02) === 0) continue;
    return body.subarray(at + 5, at + 5 + body.readUInt32BE(at + 1)).toString();
  }
  return undefined;
}

/** `{code, message}` of a Connect error body; undefined when `text` is not one. */
function parseConnectError(text: string): { code: string; message: string } | undefined {
  try {
    const json = JSON.parse(text) as { code?: unknown; message?: unknown; error?: unknown };
    if (typeof json.code === "string" && json.code !== "" && !/^\d+$/.test(json.code)) {
      return { code: json.code, message: String(json.message ?? "") };
    }
    // A Connect streaming end frame: {"error": {"code", "message"}}.
    const error = json.error as { code?: unknown; message?: unknown } | undefined;
    if (error !== null && typeof error === "object" && typeof error.code === "string") {
      return { code: error.code, message: String(error.message ?? "") };
    }
  } catch {
    // not JSON: read as plain text
  }
  return undefined;
}

/** Sends `request` on an open HTTP/2 session and resolves with its outcome once the stream closes. */
export function sendHttp2(
  session: http2.ClientHttp2Session,
  request: WireRequest,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const stream = session.request({
      ":method": request.method,
      ":path": request.path,
      ...request.headers,
    });
    let status = 0;
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      head = h;
      status = Number(h[":status"] ?? 0);
    });
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    // A reset or a refused stream is part of the answer: its outcome has no status.
    stream.on("error", () => {});
    stream.on("close", () => resolve(outcomeOf(status, head, trailers, Buffer.concat(chunks))));
    if (stream.writable) stream.end(request.body);
  });
}

/** Sends `request` over HTTP/1.1 with `agent` (keep-alive) and resolves with its outcome. */
export function sendHttp1(port: number, agent: http.Agent, request: WireRequest): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        agent,
        method: request.method,
        path: request.path,
        headers: request.headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", () => resolve({ status: res.statusCode ?? 0, code: "", message: "reset" }));
        res.on("end", () =>
          resolve(outcomeOf(res.statusCode ?? 0, res.headers, {}, Buffer.concat(chunks))),
        );
      },
    );
    req.on("error", (error) => resolve({ status: 0, code: "", message: String(error) }));
    req.end(request.method === "GET" || request.method === "HEAD" ? undefined : request.body);
  });
}
