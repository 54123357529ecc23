import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, type Interceptor } from "@connectrpc/connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { dropUnschedulableDeadline } from "../connect-adapter/deadline-headers.js";
import { encodeGrpcMessage } from "../connect-adapter/grpc-message-trailer.js";

import { singleHeader, toWebHeaders } from "../connect-adapter/incoming-headers.js";
import { isInferdError } from "../errors/inferd-error.js";
import type { StreamClaim } from "../listener/one-port-listener.js";
import type { RecordRefusedCall } from "../observed-call/rpc-call.js";
import { decodeRequestBinary } from "../services/decode-predict-request.js";
import { encodeResponseBinary } from "../services/encode-predict-response.js";
import { toConnectError } from "../services/to-connect-error.js";
import type { DecodeLargeInput } from "./decode-large-input.js";
import { type EncodeLargeOutput, settleEncoded } from "./encode-large-output.js";
import { readUnaryEnvelope } from "./grpc-unary-envelope.js";
import { CANCELED, recordRefusedCall } from "./refused-call.js";
import { createUnaryCallContext } from "./unary-call-context.js";
import { createUnaryInvokers, type UnaryInvoker } from "./unary-invoker.js";
import type { UnaryMethodSpec } from "./unary-method-table.js";

/** Options of `createGrpcUnaryPath`: the methods, interceptors and limits it shares with the Connect adapter. */
export interface GrpcUnaryPathOptions {
  /** The unary methods it serves, by path (see `createUnaryMethodTable`). */
  readonly methods: ReadonlyMap<string, UnaryMethodSpec>;
  /** The same interceptors, in the same order, as the Connect adapter runs. */
  readonly interceptors: readonly Interceptor[];
  readonly readMaxBytes: number;
  /** Aborts every call's signal (the drain's cut-off), like the adapter's `shutdownSignal`. */
  readonly shutdownSignal: AbortSignal;
  readonly contextValues?: ContextValuesOfPeer;
  /**
   * Records a call refused before the interceptors ran: a bad `grpc-timeout`, a body
   * over `readMaxBytes` or malformed, undecodable protobuf, or a client gone while it sent.
   */
  readonly recordRefusedCall?: RecordRefusedCall;
  /** Decodes big bodies off the event loop (see `DecodeLargeInput`). */
  readonly decodeLarge?: DecodeLargeInput;
  /** Builds and encodes big answers off the event loop (see `EncodeLargeOutput`). */
  readonly encodeLarge?: EncodeLargeOutput;
}

/** Per-call context values from the connection (`peerContextValues`), for either path. */
export type ContextValuesOfPeer = (req: {
  readonly socket?: { readonly remoteAddress?: string | undefined } | null;
}) => ContextValues;

const CONTENT_TYPES = new Set(["application/grpc", "application/grpc+proto"]);

/**
 * A lean path for unary gRPC calls over HTTP/2, beside Connect: it serves
 * `application/grpc` requests without compression to a recorded unary method,
 * running the very implementation and interceptors Connect would, under a Connect
 * `HandlerContext` (deadline from `grpc-timeout`, cancellation, shutdown). Everything
 * else (gRPC-Web, Connect, streaming, compressed requests) goes on to Connect.
 * Why: connect-node's generic pipeline costs ~0.6 ms of CPU per call on our CI
 * machines against ~0.04 ms for the bare HTTP/2 exchange (bench/RESULTS.md).
 */
export function createGrpcUnaryPath(options: GrpcUnaryPathOptions): StreamClaim {
  const prepared = { ...options, invokerOf: createUnaryInvokers(options.interceptors) };
  return (stream, headers) => {
    const entry = options.methods.get(headers[":path"] ?? "");
    const type = headers["content-type"] ?? "";
    const encoding = headers["grpc-encoding"];
    if (entry === undefined || headers[":method"] !== "POST" || !CONTENT_TYPES.has(type)) {
      return false;
    }
    if (encoding !== undefined && encoding !== "identity") return false;
    void serve(prepared, entry, stream, headers);
    return true;
  };
}

async function serve(
  options: GrpcUnaryPathOptions & { invokerOf: (entry: UnaryMethodSpec) => UnaryInvoker },
  entry: UnaryMethodSpec,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
): Promise<void> {
  const { service, spec } = entry;
  const startedAt = performance.now();
  let invoked = false;
  dropUnschedulableDeadline(headers);
  const timeout = parseTimeout(
    singleHeader(headers["grpc-timeout"]) ?? null,
    Number.MAX_SAFE_INTEGER,
  );
  const call = createUnaryCallContext({
    protocolName: "grpc",
    service,
    method: spec.method,
    url: `http://${singleHeader(headers[":authority"]) ?? "localhost"}${headers[":path"]}`,
    requestHeader: toWebHeaders(headers),
    timeoutMs: timeout.error ? undefined : timeout.timeoutMs,
    shutdownSignal: options.shutdownSignal,
    ...(options.contextValues && {
      values: options.contextValues({ socket: stream.session?.socket ?? null }),
    }),
  });
  const { context } = call;
  const onClose = () => call.abort(CANCELED);
  // \`on\`, not \`once\`: "close" comes once, and a once-wrapper per call is garbage.
  stream.on("close", onClose);
  // A client that resets the stream with any code but CANCEL makes it emit "error", and an
  // Http2Stream error without a listener is an uncaught exception: the whole process would
  // exit. The reset ends this call like a cancel; the listener stays for the stream's life.
  stream.on("error", onClose);
  try {
    if (timeout.error) throw timeout.error;
    const bytes = await readUnaryEnvelope(stream, options.readMaxBytes, context.signal);
    const decoded = options.decodeLarge?.(headers[":path"] ?? "", bytes, true);
    let input: Message;
    try {
      input = decoded ? await decoded : decodeRequestBinary(spec.method.input, bytes);
    } catch (error) {
      if (error instanceof ConnectError) throw error;
      throw new ConnectError(`parse binary: ${String(error)}`, Code.InvalidArgument);
    }
    invoked = true;
    const output = await options.invokerOf(entry)(context, input);
    const large = options.encodeLarge?.(headers[":path"] ?? "", output, true);
    const body = large
      ? await settleEncoded(large)
      : encodeResponseBinary(spec.method.output, output);
    if (body instanceof ConnectError) throw body;
    respond(stream, headers, context.responseHeader, context.responseTrailer, { body });
  } catch (reason) {
    const error = toWireError(reason);
    respond(stream, headers, context.responseHeader, context.responseTrailer, { error });
    const record = options.recordRefusedCall;
    if (!invoked && record) {
      recordRefusedCall(record, {
        method: spec.method,
        headers,
        remoteAddress: stream.session?.socket?.remoteAddress ?? "",
        error,
        startedAt,
        closed: stream.closed || stream.destroyed,
        onClose: (listener) => stream.once("close", listener),
        left: () => stream.aborted || (stream.rstCode ?? 0) !== 0,
      });
    }
  } finally {
    stream.off("close", onClose);
    call.finish();
  }
}

/** Writes the response: headers, one message and trailers, or a trailers-only error. */
function respond(
  stream: ServerHttp2Stream,
  request: IncomingHttpHeaders,
  header: Headers,
  trailer: Headers,
  result: { body: Uint8Array } | { error: ConnectError },
): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  const head: OutgoingHttpHeaders = { ":status": 200, "content-type": request["content-type"] };
  header.forEach((value, key) => {
    head[key] = value;
  });
  if ("error" in result) {
    const status = setTrailerStatus(new Headers(trailer), result.error);
    status.set("grpc-message", encodeGrpcMessage(result.error.rawMessage));
    status.forEach((value, key) => {
      head[key] = value;
    });
    stream.respond(head, { endStream: true });
    return;
  }
  const tail: OutgoingHttpHeaders = { "grpc-status": "0" };
  trailer.forEach((value, key) => {
    tail[key] = value;
  });
  stream.respond(head, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers(tail));
  const frame = Buffer.allocUnsafe(5 + result.body.byteLength);
  frame[0] = 0;
  frame.writeUInt32BE(result.body.byteLength, 1);
  frame.set(result.body, 5);
  stream.end(frame);
}

/**
 * What reaches here was not mapped by the services' `withErrorMapping` (a refusal
 * before the handler, an interceptor's throw, a handler mounted without it). A
 * ConnectError or a domain error maps by the one table (`toConnectError`); aborts
 * keep their code (Canceled, DeadlineExceeded); anything else is a bug, answered
 * Internal without its message (which could hold internals).
 */
function toWireError(reason: unknown): ConnectError {
  if (reason instanceof ConnectError || isInferdError(reason)) return toConnectError(reason);
  const error = ConnectError.from(reason, Code.Internal);
  if (error.code !== Code.Internal && error.code !== Code.Unknown) return error;
  return new ConnectError("internal error", Code.Internal);
}
