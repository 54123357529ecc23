import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { ConnectError } from "@connectrpc/connect";
import {
  type Compression,
  compressionNegotiate,
  envelopeCompress,
} from "@connectrpc/connect/protocol";
import {
  contentTypeJson,
  contentTypeProto,
  parseContentType,
  parseTimeout,
  setTrailerStatus,
  trailerFlag,
} from "@connectrpc/connect/protocol-grpc-web";
import { settleEncoded } from "./encode-large-output.js";
import { parseUnaryInput, readGrpcWebBody } from "./grpc-web-request-body.js";
import {
  COMPRESS_MIN_BYTES,
  createSerializers,
  headerOf,
  type LeanHttpPathOptions,
  type LeanRequest,
  type LeanResponse,
  leanTarget,
  type PreparedLeanOptions,
  prepareLeanOptions,
  type RequestClaim,
  runLeanCall,
  type Serialization,
} from "./lean-http-call.js";
import type { UnaryMethodSpec } from "./unary-method-table.js";

/** Options of `createGrpcWebUnaryPath`: what it shares with the Connect adapter. */
export type GrpcWebUnaryPathOptions = LeanHttpPathOptions;

/**
 * A lean path for unary gRPC-Web calls (POST, `application/grpc-web[+proto|+json]`,
 * no request compression, HTTP/1.1 or HTTP/2) beside connect-node: it runs the very
 * implementation and interceptors, and answers byte for byte as connect-node's gRPC-Web
 * handler does (HTTP 200, the message and trailer envelopes as two body writes, the
 * status in the trailer frame with connect-es's `grpc-message` encoding, envelopes
 * compressed from 1 KiB), built from connect-es's own protocol functions. The text
 * variant, compressed requests, query strings and streaming go on to connect-node.
 * Why: connect-node's generic pipeline costs ~0.5-1 ms of main-thread CPU per call.
 */
export function createGrpcWebUnaryPath(options: GrpcWebUnaryPathOptions): RequestClaim {
  const prepared = prepareLeanOptions(options);
  const serializers = createSerializers(options);
  return (req, res) => {
    const target = leanTarget(req, options, serializers, "grpc-encoding");
    if (target === undefined) return false;
    const type = parseContentType(headerOf(req, "content-type"));
    if (type === undefined || type.text) return false;
    void serve(prepared, target.entry, target.serialization, type.binary, req, res);
    return true;
  };
}

async function serve(
  options: PreparedLeanOptions,
  entry: UnaryMethodSpec,
  serialization: Serialization,
  binary: boolean,
  req: LeanRequest,
  res: LeanResponse,
): Promise<void> {
  const compression = compressionNegotiate(
    [...options.acceptCompression],
    headerOf(req, "grpc-encoding"),
    headerOf(req, "grpc-accept-encoding"),
    "grpc-accept-encoding",
  );
  const end = await runLeanCall({
    options,
    entry,
    req,
    res,
    protocolName: "grpc-web",
    timeout: parseTimeout(headerOf(req, "grpc-timeout"), Number.MAX_SAFE_INTEGER),
    responseHeader: { "content-type": binary ? contentTypeProto : contentTypeJson },
    prepare: (context) => {
      context.responseTrailer.set("grpc-status", "0");
      if (compression.response) {
        context.responseHeader.set("grpc-encoding", compression.response.name);
      }
    },
    refusal: compression.error,
    readInput: async (signal) => {
      const bytes = await readGrpcWebBody(req as Readable, options.readMaxBytes, signal);
      const decodeLarge = options.decodeLarge;
      return parseUnaryInput(
        bytes,
        serialization.getI(binary),
        options.readMaxBytes,
        decodeLarge && ((message) => decodeLarge(req.url ?? "", message, binary)),
      );
    },
  });
  const { context } = end;
  const envelopes: { flags: number; data: Uint8Array }[] = [];
  let data: Uint8Array | ConnectError = "error" in end ? end.error : new Uint8Array(0);
  if ("output" in end) {
    const large = options.encodeLarge?.(req.url ?? "", end.output, binary);
    data = large ? await settleEncoded(large) : serialization.getO(binary).serialize(end.output);
  }
  if (data instanceof ConnectError) setTrailerStatus(context.responseTrailer, data);
  else envelopes.push({ flags: 0, data });
  envelopes.push({ flags: trailerFlag, data: serializeTrailer(context.responseTrailer) });
  await respond(res, context.responseHeader, envelopes, compression.response);
}

/**
 * connect-es's `trailerSerialize`: `name: value\r\n` per field, UTF-8, the same bytes.
 * Why: one string and `Buffer.from` cost ~0.3 µs less than its line array and a new
 * `TextEncoder` per call.
 */
function serializeTrailer(trailer: Headers): Uint8Array {
  let text = "";
  trailer.forEach((value, key) => {
    text += `${key}: ${value}\r\n`;
  });
  return Buffer.from(text);
}

/** Writes the head and each envelope as its own body write, as connect-node does. */
async function respond(
  res: LeanResponse,
  header: Headers,
  envelopes: readonly { flags: number; data: Uint8Array }[],
  compression: Compression | null,
): Promise<void> {
  const frames: Buffer[] = [];
  for (const envelope of envelopes) {
    // Only an envelope it compresses waits: the usual small answer takes no microtask.
    const { flags, data } =
      compression && envelope.data.byteLength >= COMPRESS_MIN_BYTES
        ? await envelopeCompress(envelope, compression, COMPRESS_MIN_BYTES)
        : envelope;
    const frame = Buffer.allocUnsafe(5 + data.byteLength);
    frame[0] = flags;
    frame.writeUInt32BE(data.byteLength, 1);
    frame.set(data, 5);
    frames.push(frame);
  }
  if (res.headersSent || res.destroyed) return;
  const head: OutgoingHttpHeaders = {};
  header.forEach((value, key) => {
    head[key] = key === "set-cookie" ? header.getSetCookie() : value;
  });
  res.writeHead(200, head);
  // Either response type writes a Buffer; their overloads just do not unify.
  for (const frame of frames) (res as ServerResponse).write(frame);
  res.end();
}
