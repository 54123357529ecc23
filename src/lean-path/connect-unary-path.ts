import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { JsonReadOptions, JsonWriteOptions } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  type Compression,
  compressionNegotiate,
  createMethodSerializationLookup,
  invokeUnaryImplementation,
  readAllBytes,
} from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  errorToJsonBytes,
  parseContentType,
  parseTimeout,
  trailerMux,
} from "@connectrpc/connect/protocol-connect";
import { singleHeader, toWebHeaders } from "../connect-adapter/incoming-headers.js";
import type { RecordRefusedCall } from "../observed-call/rpc-call.js";
import type { ContextValuesOfPeer } from "./grpc-unary-path.js";
import { CANCELED, recordRefusedCall } from "./refused-call.js";
import { createUnaryCallContext } from "./unary-call-context.js";
import type { UnaryMethodSpec } from "./unary-method-table.js";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

/** Claims a request (true: it answers it) or leaves it to the next handler (false). */
export type RequestClaim = (req: Request, res: Response) => boolean;

/** Options of `createConnectUnaryPath`: what it shares with the Connect adapter. */
export interface ConnectUnaryPathOptions {
  /** The unary methods it serves, by path (see `createUnaryMethodTable`). */
  readonly methods: ReadonlyMap<string, UnaryMethodSpec>;
  /** The same interceptors, in the same order, as the Connect adapter runs. */
  readonly interceptors: readonly Interceptor[];
  readonly readMaxBytes: number;
  /** The adapter's JSON options (unknown fields refused). */
  readonly jsonOptions: Partial<JsonReadOptions & JsonWriteOptions>;
  /** The adapter's response compressions, in its order of preference. */
  readonly acceptCompression: readonly Compression[];
  /** Aborts every call's signal (the drain's cut-off), like the adapter's `shutdownSignal`. */
  readonly shutdownSignal: AbortSignal;
  readonly contextValues?: ContextValuesOfPeer;
  /** Records a call refused before the interceptors ran (bad timeout, body, JSON). */
  readonly recordRefusedCall?: RecordRefusedCall;
}

/** connect-node's default: smaller responses are never compressed. */
const COMPRESS_MIN_BYTES = 1024;

/**
 * A lean path for unary calls of the Connect protocol (POST, JSON or binary, HTTP/1.1
 * or HTTP/2) beside connect-node: it runs the very implementation and interceptors,
 * and answers byte for byte as connect-node's unary handler does (same serialization,
 * error JSON, status mapping, `trailer-` headers, compression), built from
 * connect-es's own protocol functions. GET requests, compressed request bodies, query
 * strings and anything but unary Connect go on to connect-node.
 * Why: connect-node's generic pipeline (web Headers, URL, async iterables per call)
 * costs ~0.5-1 ms of main-thread CPU per call, several times a small model's run.
 */
export function createConnectUnaryPath(options: ConnectUnaryPathOptions): RequestClaim {
  const prepared = { ...options, interceptors: [...options.interceptors] };
  const serializers = new Map<string, ReturnType<typeof createMethodSerializationLookup>>();
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
    if (type === undefined || type.stream) return false;
    const encoding = singleHeader(req.headers["content-encoding"]);
    if (encoding !== undefined && encoding !== "identity") return false;
    // connect-node refuses a request whose authority makes no URL (400): leave it to it.
    if (!isUsableAuthority(authorityOf(req))) return false;
    void serve(prepared, entry, serialization, type.binary, req, res);
    return true;
  };
}

async function serve(
  options: ConnectUnaryPathOptions & { interceptors: Interceptor[] },
  { service, spec }: UnaryMethodSpec,
  serialization: ReturnType<typeof createMethodSerializationLookup>,
  binary: boolean,
  req: Request,
  res: Response,
): Promise<void> {
  const startedAt = performance.now();
  let invoked = false;
  const headers = req.headers;
  const timeout = parseTimeout(
    singleHeader(headers["connect-timeout-ms"]) ?? null,
    Number.MAX_SAFE_INTEGER,
  );
  const call = createUnaryCallContext({
    protocolName: "connect",
    service,
    method: spec.method,
    url: `http://${authorityOf(req)}${req.url}`,
    requestHeader: toWebHeaders(headers),
    timeoutMs: timeout.error ? undefined : timeout.timeoutMs,
    shutdownSignal: options.shutdownSignal,
    responseHeader: { "content-type": binary ? contentTypeUnaryProto : contentTypeUnaryJson },
    ...(options.contextValues && { values: options.contextValues({ socket: req.socket }) }),
  });
  const { context } = call;
  const compression = compressionNegotiate(
    [...options.acceptCompression],
    null,
    singleHeader(headers["accept-encoding"]) ?? null,
    "accept-encoding",
  );
  const onClose = () => call.abort(CANCELED);
  res.once("close", onClose);
  let status = 200;
  let body: Uint8Array;
  try {
    if (compression.error) throw compression.error;
    if (timeout.error) throw timeout.error;
    const bytes = await readAllBytes(
      req as AsyncIterable<Uint8Array>,
      options.readMaxBytes,
      singleHeader(headers["content-length"]) ?? null,
    );
    const input = serialization.getI(binary).parse(bytes);
    invoked = true;
    const output = await invokeUnaryImplementation(spec, context, input, options.interceptors);
    body = serialization.getO(binary).serialize(output);
  } catch (reason) {
    const error =
      reason instanceof ConnectError
        ? reason
        : new ConnectError("internal error", Code.Internal, undefined, undefined, reason);
    call.abort(error);
    status = codeToHttpStatus(error.code);
    context.responseHeader.set("content-type", contentTypeUnaryJson);
    error.metadata.forEach((value, key) => {
      context.responseHeader.set(key, value);
    });
    body = errorToJsonBytes(error, options.jsonOptions);
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
  if (compression.response && body.byteLength >= COMPRESS_MIN_BYTES) {
    body = await compression.response.compress(body);
    context.responseHeader.set("content-encoding", compression.response.name);
  }
  const header = trailerMux(context.responseHeader, context.responseTrailer);
  header.set("content-length", String(body.byteLength));
  respond(res, status, header, body);
}

function respond(res: Response, status: number, header: Headers, body: Uint8Array): void {
  if (res.headersSent || res.destroyed) return;
  const head: OutgoingHttpHeaders = {};
  header.forEach((value, key) => {
    head[key] = key === "set-cookie" ? header.getSetCookie() : value;
  });
  res.writeHead(status, head);
  res.end(body);
}

/** The request's authority: HTTP/2's `:authority`, else the Host header. */
export function authorityOf(req: Request): string | undefined {
  return "authority" in req ? req.authority : req.headers.host;
}

const usableAuthorities = new Map<string, boolean>();
const MAX_REMEMBERED_AUTHORITIES = 64;

/** Whether `http://<authority>` parses as a URL, remembered for the few a server sees. */
export function isUsableAuthority(authority: string | undefined): authority is string {
  if (authority === undefined) return false;
  let usable = usableAuthorities.get(authority);
  if (usable === undefined) {
    usable = URL.canParse(`http://${authority}/`);
    if (usableAuthorities.size < MAX_REMEMBERED_AUTHORITIES) {
      usableAuthorities.set(authority, usable);
    }
  }
  return usable;
}
