import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { envelope, type WireRequest } from "./hostile-wire.js";

/** Which driver sends a row, and over what: gRPC rows over HTTP/2, the others over HTTP/1.1. */
export type HostileProtocol =
  | "grpc"
  | "grpc-web"
  | "connect-json"
  | "connect-proto"
  | "v1"
  | "v2"
  | "oip-grpc"
  | "http1-raw";

/** What a row must get back; only the fields given are compared. */
export interface HostileExpectation {
  /** The HTTP status. */
  readonly status?: number;
  /** The RPC code in Connect's snake_case, "ok" for success. */
  readonly code?: string;
  /** A fragment the message (grpc-message, Connect message or HTTP body) must contain. */
  readonly message?: string;
}

/** One malformed request and the exact answer it must get. */
export interface HostileRow {
  readonly name: string;
  readonly protocol: HostileProtocol;
  readonly request: WireRequest;
  readonly expect: HostileExpectation;
  /** Send over HTTP/2 although the protocol defaults to HTTP/1.1. */
  readonly http2?: boolean;
  /** Set when inferd answers wrong today (the issue item): the row runs as `it.fails`. */
  readonly todo?: string;
  /**
   * Set when the answer is right but inferd logs the call at error level (a client's
   * mistake, not inferd's fault): the row is left out of the no-error-log check.
   */
  readonly logTodo?: string;
  /** For `http1-raw` rows: the whole request as latin1 text, head and body. */
  readonly raw?: string;
}

/** Extra fields of a row besides its request and expectation. */
export type RowOptions = Pick<HostileRow, "http2" | "todo" | "logTodo"> & {
  readonly headers?: Readonly<Record<string, string>>;
  readonly method?: string;
};

/** protobuf-es binary of `init` as `schema`. */
export function pb<Desc extends DescMessage>(
  schema: Desc,
  init: MessageInitShape<Desc>,
): Uint8Array {
  return toBinary(schema, create(schema, init));
}

export const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
export const concat = (...parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);

/** Text with the bytes 0xff 0xfe (never valid UTF-8) where `\u0000` stands in `text`. */
export function invalidUtf8(text: string): Uint8Array {
  const [before = "", after = ""] = text.split("\u0000");
  return concat(utf8(before), bytes(0xff, 0xfe), utf8(after));
}

export const rpc =
  (protocol: HostileProtocol, contentType: string, extra: Record<string, string> = {}) =>
  (
    name: string,
    path: string,
    body: Uint8Array | string,
    expect: HostileExpectation,
    options: RowOptions = {},
  ): HostileRow => ({
    name,
    protocol,
    request: {
      method: options.method ?? "POST",
      path,
      headers: { "content-type": contentType, ...extra, ...options.headers },
      body: typeof body === "string" ? utf8(body) : body,
    },
    expect,
    ...(options.http2 !== undefined && { http2: options.http2 }),
    ...(options.todo !== undefined && { todo: options.todo }),
    ...(options.logTodo !== undefined && { logTodo: options.logTodo }),
  });

/** A gRPC row (HTTP/2, `te: trailers`); the body is sent as given, envelope included. */
export const grpcRow = rpc("grpc", "application/grpc", { te: "trailers" });
/** An Open Inference Protocol gRPC row. */
export const oipRow = rpc("oip-grpc", "application/grpc", { te: "trailers" });
/** A gRPC-Web row (HTTP/1.1 unless `http2`). */
export const grpcWebRow = rpc("grpc-web", "application/grpc-web+proto", { "x-grpc-web": "1" });
/** A Connect unary JSON row. */
export const connectJsonRow = rpc("connect-json", "application/json");
/** A Connect unary binary row. */
export const connectProtoRow = rpc("connect-proto", "application/proto");
/** A `/v1` row (JSON body). */
export const v1Row = rpc("v1", "application/json");
/** A `/v2` row (JSON body). */
export const v2Row = rpc("v2", "application/json");

/** A raw HTTP/1.1 row: `raw` is the whole request; the answer is read from its status line. */
export function rawRow(name: string, raw: string, expect: HostileExpectation): HostileRow {
  return {
    name,
    protocol: "http1-raw",
    request: { method: "", path: "", headers: {}, body: new Uint8Array() },
    expect,
    raw,
  };
}

/** `data` in one gRPC envelope (flags 0). */
export const env = (data: Uint8Array): Uint8Array => envelope(data);
