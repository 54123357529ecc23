import { brotliCompressSync, gzipSync } from "node:zlib";
import { ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { describe, expect, it } from "vitest";
import {
  type SentResponse,
  statusOfSentResponse,
} from "../../src/connect-adapter/status-of-sent-response.js";
import type { RpcProtocol } from "../../src/observed-call/rpc-labels.js";

function frame(flags: number, data: string): Buffer {
  const bytes = Buffer.from(data);
  const out = Buffer.alloc(5 + bytes.byteLength);
  out[0] = flags;
  out.writeUInt32BE(bytes.byteLength, 1);
  bytes.copy(out, 5);
  return out;
}

function sent(protocol: RpcProtocol, init: Partial<Omit<SentResponse, "protocol">>): SentResponse {
  return {
    protocol,
    status: 200,
    header: new Headers(),
    trailer: new Headers(),
    body: undefined,
    ...init,
  };
}

/** The code as the access log spells it, "ok" included; "none" for no status. */
function codeOf(response: SentResponse): string {
  const status = statusOfSentResponse(response);
  if (status === undefined) return "none";
  return status === "ok" ? "ok" : codeToString(status.code);
}

describe("statusOfSentResponse", () => {
  it("reads gRPC's grpc-status from the trailers, else a trailers-only head", () => {
    expect(codeOf(sent("grpc", { trailer: new Headers({ "grpc-status": "0" }) }))).toBe("ok");
    expect(codeOf(sent("grpc", { trailer: new Headers({ "grpc-status": "8" }) }))).toBe(
      "resource_exhausted",
    );
    expect(codeOf(sent("grpc", { header: new Headers({ "grpc-status": "3" }) }))).toBe(
      "invalid_argument",
    );
    // A stream cut before its trailers carries no status.
    expect(codeOf(sent("grpc", {}))).toBe("none");
  });

  it("reads gRPC-Web's status from the body's trailer frame, with its message", () => {
    const body = frame(0x80, "grpc-status: 13\r\ngrpc-message: parse%20binary\r\n");
    const status = statusOfSentResponse(sent("grpc_web", { body }));
    expect(status).toBeInstanceOf(ConnectError);
    expect((status as ConnectError).rawMessage).toBe("parse binary");
    expect(codeOf(sent("grpc_web", { body }))).toBe("internal");
    // Messages first, then the trailers.
    const both = Buffer.concat([frame(0, "xyz"), frame(0x80, "grpc-status: 0\r\n")]);
    expect(codeOf(sent("grpc_web", { body: both }))).toBe("ok");
  });

  it("reads a Connect stream's end-stream message; none without one", () => {
    const header = new Headers({ "content-type": "application/connect+json" });
    const error = frame(2, JSON.stringify({ error: { code: "invalid_argument", message: "m" } }));
    expect(codeOf(sent("connect", { header, body: error }))).toBe("invalid_argument");
    expect(codeOf(sent("connect", { header, body: frame(2, "{}") }))).toBe("ok");
    expect(codeOf(sent("connect", { header, body: frame(0, "{}") }))).toBe("none");
  });

  it("reads Connect unary's JSON error body, not the lossy HTTP status", () => {
    const header = new Headers({ "content-type": "application/json" });
    const body = Buffer.from(JSON.stringify({ code: "resource_exhausted", message: "too big" }));
    // 429 alone would read as "unavailable".
    expect(codeOf(sent("connect", { status: 429, header, body }))).toBe("resource_exhausted");
  });

  it("maps a bare HTTP status as clients do, naming it in the message", () => {
    const status = statusOfSentResponse(sent("grpc", { status: 415 }));
    expect((status as ConnectError).rawMessage).toBe("HTTP 415 Unsupported Media Type");
    expect(codeOf(sent("grpc", { status: 415 }))).toBe("unknown");
    expect(codeOf(sent("connect", { status: 503 }))).toBe("unavailable");
  });
  it("decompresses gzip and br bodies and frames; never throws on bytes it cannot read", () => {
    const error = JSON.stringify({ code: "invalid_argument", message: "m".repeat(2000) });
    const json = (encoding: string) =>
      new Headers({ "content-type": "application/json", "content-encoding": encoding });
    const gzipped = gzipSync(error);
    expect(codeOf(sent("connect", { status: 400, header: json("gzip"), body: gzipped }))).toBe(
      "invalid_argument",
    );
    const br = brotliCompressSync(error);
    expect(codeOf(sent("connect", { status: 400, header: json("br"), body: br }))).toBe(
      "invalid_argument",
    );
    // Compressed bytes read as they are, garbage, an unknown encoding: the bare status.
    const plain = new Headers({ "content-type": "application/json" });
    expect(codeOf(sent("connect", { status: 400, header: plain, body: gzipped }))).toBe("internal");
    expect(
      codeOf(sent("connect", { status: 400, header: json("gzip"), body: Buffer.from("x") })),
    ).toBe("internal");
    expect(codeOf(sent("connect", { status: 400, header: json("zstd"), body: gzipped }))).toBe(
      "internal",
    );
    // A gRPC-Web trailer frame compressed with the response's grpc-encoding.
    const trailer = gzipSync("grpc-status: 8\r\n");
    const compressed = Buffer.concat([frame(0x81, ""), trailer]);
    compressed.writeUInt32BE(trailer.byteLength, 1);
    const header = new Headers({ "grpc-encoding": "gzip" });
    expect(codeOf(sent("grpc_web", { header, body: compressed }))).toBe("resource_exhausted");
  });
});
