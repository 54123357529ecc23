import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Readable } from "node:stream";
import type { JsonReadOptions, JsonWriteOptions } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  type Compression,
  compressionNegotiate,
  createMethodSerializationLookup,
  envelopeCompress,
  invokeUnaryImplementation,
} from "@connectrpc/connect/protocol";
import {
  contentTypeJson,
  contentTypeProto,
  parseContentType,
  parseTimeout,
  setTrailerStatus,
  trailerFlag,
  trailerSerialize,
} from "@connectrpc/connect/protocol-grpc-web";
import { singleHeader, toWebHeaders } from "../connect-adapter/incoming-headers.js";
import type { RecordRefusedCall } from "../observed-call/rpc-call.js";
import { authorityOf, isUsableAuthority, type RequestClaim } from "./connect-unary-path.js";
import type { ContextValuesOfPeer } from "./grpc-unary-path.js";
import { parseUnaryInput, readGrpcWebBody } from "./grpc-web-request-body.js";
import { CANCELED, recordRefusedCall } from "./refused-call.js";
import { createUnaryCallContext } from "./unary-call-context.js";
import type { UnaryMethodSpec } from "./unary-method-table.js";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;
type Lookup = ReturnType<typeof createMethodSerializationLookup>;

/** Options of `createGrpcWebUnaryPath`: what it shares with the Connect adapter. */
export interface GrpcWebUnaryPathOptions {
  /** The unary methods it serves, by path (see `createUnaryMethodTable`). */
  readonly methods: ReadonlyMap<string, UnaryMethodSpec>;
  /** The same interceptors, in the same order, as the Connect adapter runs. */
  readonly interceptors: readonly Interceptor[];
  readonly readMaxBytes: number;
  /** The adapter's JSON options, for `application/grpc-web+json`. */
  readonly jsonOptions: Partial<JsonReadOptions & JsonWriteOptions>;
  /** The adapter's response compressions, in its order of preference. */
  readonly acceptCompression: readonly Compression[];
  /** Aborts every call's signal (the drain's cut-off), like the adapter's `shutdownSignal`. */
  readonly shutdownSignal: AbortSignal;
  readonly contextValues?: ContextValuesOfPeer;
  /** Records a call refused before the interceptors ran (bad timeout, body). */
  readonly recordRefusedCall?: RecordRefusedCall;
}

/** connect-node's default: smaller envelopes are never compressed. */
const COMPRESS_MIN_BYTES = 1024;

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
  const prepared = { ...options, interceptors: [...options.interceptors] };
  const serializers = new Map<string, Lookup>();
  for (const [path, { spec }] of options.methods) {
    serializers.set(
      path,
      createMethodSerializationLookup(spec.method, undefined, options.jsonOptions, {
        readMaxBytes: options.readMaxBytes,
        writeMaxBytes: 0xffffffff,
      }),
    );
  }
  return (req, res) => {
    if (req.method !== "POST") return false;
    const path = req.url ?? "";
    const entry = options.methods.get(path);
    const serialization = serializers.get(path);
    if (entry === undefined || serialization === undefined) return false;
    const type = parseContentType(singleHeader(req.headers["content-type"]) ?? null);
    if (type === undefined || type.text) return false;
    const encoding = singleHeader(req.headers["grpc-encoding"]);
    if (encoding !== undefined && encoding !== "identity") return false;
    if (!isUsableAuthority(authorityOf(req))) return false;
    void serve(prepared, entry, serialization, type.binary, req, res);
    return true;
  };
}

async function serve(
  options: GrpcWebUnaryPathOptions & { interceptors: Interceptor[] },
  { service, spec }: UnaryMethodSpec,
  serialization: Lookup,
  binary: boolean,
  req: Request,
  res: Response,
): Promise<void> {
  const startedAt = performance.now();
  let invoked = false;
  const headers = req.headers;
  const timeout = parseTimeout(
    singleHeader(headers["grpc-timeout"]) ?? null,
    Number.MAX_SAFE_INTEGER,
  );
  const call = createUnaryCallContext({
    protocolName: "grpc-web",
    service,
    method: spec.method,
    url: `http://${authorityOf(req)}${req.url}`,
    requestHeader: toWebHeaders(headers),
    timeoutMs: timeout.error ? undefined : timeout.timeoutMs,
    shutdownSignal: options.shutdownSignal,
    responseHeader: { "content-type": binary ? contentTypeProto : contentTypeJson },
    ...(options.contextValues && { values: options.contextValues({ socket: req.socket }) }),
  });
  const { context } = call;
  context.responseTrailer.set("grpc-status", "0");
  const compression = compressionNegotiate(
    [...options.acceptCompression],
    singleHeader(headers["grpc-encoding"]) ?? null,
    singleHeader(headers["grpc-accept-encoding"]) ?? null,
    "grpc-accept-encoding",
  );
  if (compression.response) context.responseHeader.set("grpc-encoding", compression.response.name);
  const onClose = () => call.abort(CANCELED);
  res.once("close", onClose);
  const envelopes: { flags: number; data: Uint8Array }[] = [];
  try {
    if (compression.error) throw compression.error;
    if (timeout.error) throw timeout.error;
    const bytes = await readGrpcWebBody(req as Readable, options.readMaxBytes, context.signal);
    const input = await parseUnaryInput(bytes, serialization.getI(binary), options.readMaxBytes);
    invoked = true;
    const output = await invokeUnaryImplementation(spec, context, input, options.interceptors);
    envelopes.push({ flags: 0, data: serialization.getO(binary).serialize(output) });
  } catch (reason) {
    const error =
      reason instanceof ConnectError
        ? reason
        : new ConnectError("internal error", Code.Internal, undefined, undefined, reason);
    call.abort(error);
    setTrailerStatus(context.responseTrailer, error);
    if (!invoked && options.recordRefusedCall) {
      recordRefusedCall(options.recordRefusedCall, {
        method: spec.method,
        headers,
        remoteAddress: req.socket?.remoteAddress ?? "",
        error,
        startedAt,
        closed: res.closed,
        onClose: (listener) => res.once("close", listener),
        left: () => !res.writableFinished,
      });
    }
  } finally {
    res.off("close", onClose);
    call.finish();
  }
  envelopes.push({ flags: trailerFlag, data: trailerSerialize(context.responseTrailer) });
  await respond(res, context.responseHeader, envelopes, compression.response);
}

/** Writes the head and each envelope as its own body write, as connect-node does. */
async function respond(
  res: Response,
  header: Headers,
  envelopes: readonly { flags: number; data: Uint8Array }[],
  compression: Compression | null,
): Promise<void> {
  const frames: Buffer[] = [];
  for (const envelope of envelopes) {
    const { flags, data } = await envelopeCompress(envelope, compression, COMPRESS_MIN_BYTES);
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
