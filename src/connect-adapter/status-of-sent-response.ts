import { STATUS_CODES } from "node:http";
import { brotliDecompressSync, constants, gunzipSync } from "node:zlib";
import { ConnectError } from "@connectrpc/connect";
import {
  codeFromHttpStatus,
  codeFromString,
  endStreamFlag,
  endStreamFromJson,
  errorFromJsonBytes,
} from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import type { RpcProtocol } from "../observed-call/rpc-labels.js";

/** A response as the server wrote it, for {@link statusOfSentResponse}. */
export interface SentResponse {
  readonly protocol: RpcProtocol;
  /** The HTTP status. */
  readonly status: number;
  readonly header: Headers;
  /** HTTP trailers (gRPC); empty when none were sent. */
  readonly trailer: Headers;
  /** The body's bytes, or its start when `truncated`; undefined when none were kept. */
  readonly body: Uint8Array | undefined;
  /** The body was longer than `body`. */
  readonly truncated?: boolean;
}

const ENVELOPE_HEADER_BYTES = 5;
const COMPRESSED_FLAG = 0b1;
/** What a kept body (at most 16 KiB) may decompress to before it is not read at all. */
const MAX_DECODED_BYTES = 1024 * 1024;

/**
 * The status a client reads from a response: "ok", the error it decodes, or
 * undefined when the response carries no status (a gRPC stream cut before its
 * trailers). Read the way each protocol's client reads it: `grpc-status` in the
 * trailers or a trailers-only head (gRPC), in the head or the body's trailer frame
 * (gRPC-Web), the end-stream message (Connect streaming), the JSON error body
 * (Connect unary). Any other non-200 answer (415, 405, 505) is what a client makes
 * of the bare HTTP status, e.g. "unknown" for 415, with the status as the message.
 * Compressed bodies and frames (gzip, br: what connect-node offers) are decompressed;
 * nothing here throws on bytes it cannot read.
 */
export function statusOfSentResponse(sent: SentResponse): ConnectError | "ok" | undefined {
  const { status, header, body } = sent;
  if (status !== 200) {
    const bare = new ConnectError(
      `HTTP ${status} ${STATUS_CODES[status] ?? ""}`.trim(),
      codeFromHttpStatus(status),
    );
    const json = (header.get("content-type") ?? "").startsWith("application/json");
    const bytes = body && decoded(body, header.get("content-encoding"));
    if (sent.protocol !== "connect" || !json || !bytes) return bare;
    try {
      return errorFromJsonBytes(bytes, undefined, bare);
    } catch {
      return leadingCode(bytes, bare);
    }
  }
  switch (sent.protocol) {
    case "grpc":
      return grpcStatusOf(sent.trailer) ?? grpcStatusOf(header);
    case "grpc_web": {
      const frame = body && frameWith(body, trailerFlag, header.get("grpc-encoding"));
      return grpcStatusOf(header) ?? (frame ? grpcStatusOf(trailerParse(frame)) : undefined);
    }
    case "connect": {
      if (!(header.get("content-type") ?? "").startsWith("application/connect+")) return "ok";
      const frame = body && frameWith(body, endStreamFlag, header.get("connect-content-encoding"));
      if (!frame) return undefined;
      try {
        return endStreamFromJson(frame).error ?? "ok";
      } catch (error) {
        return sent.truncated
          ? leadingCode(frame, ConnectError.from(error))
          : ConnectError.from(error);
      }
    }
  }
}

/**
 * The `"code"` of a Connect error whose JSON was cut (its message echoed a long part of
 * the request): connect-es writes the code first. Else `otherwise`.
 */
function leadingCode(json: Uint8Array, otherwise: ConnectError): ConnectError {
  const text = Buffer.from(json.buffer, json.byteOffset, Math.min(json.byteLength, 256)).toString();
  const name = /"code"\s*:\s*"([a-z_]+)"/.exec(text)?.[1];
  const code = name === undefined ? undefined : codeFromString(name);
  return code === undefined ? otherwise : new ConnectError("(the error body was cut)", code);
}

/** The gRPC status in these headers or trailers; undefined without `grpc-status`. */
function grpcStatusOf(fields: Headers): ConnectError | "ok" | undefined {
  if (!fields.has("grpc-status")) return undefined;
  return findTrailerError(fields) ?? "ok";
}

/** The data of the first envelope whose flags include `flag`, decompressed if it is. */
function frameWith(
  body: Uint8Array,
  flag: number,
  encoding: string | null,
): Uint8Array | undefined {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let at = 0; at + ENVELOPE_HEADER_BYTES <= body.byteLength; ) {
    const flags = view.getUint8(at);
    const length = view.getUint32(at + 1);
    const start = at + ENVELOPE_HEADER_BYTES;
    if (flags & flag) {
      const data = body.subarray(start, start + length);
      return flags & COMPRESSED_FLAG ? decoded(data, encoding ?? "unknown") : data;
    }
    at = start + length;
  }
  return undefined;
}

/** Bytes sent with this content encoding, decoded; undefined when they cannot be. */
function decoded(bytes: Uint8Array, encoding: string | null): Uint8Array | undefined {
  // Flushing what it has lets the start of a cut stream decode (leadingCode reads it).
  const gzip = { maxOutputLength: MAX_DECODED_BYTES, finishFlush: constants.Z_SYNC_FLUSH };
  const br = { maxOutputLength: MAX_DECODED_BYTES, finishFlush: constants.BROTLI_OPERATION_FLUSH };
  try {
    if (encoding === null || encoding === "identity") return bytes;
    if (encoding === "gzip") return gunzipSync(bytes, gzip);
    if (encoding === "br") return brotliDecompressSync(bytes, br);
  } catch {
    // Truncated, corrupt or too large: read as no body.
  }
  return undefined;
}
