import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { JsonReadOptions, JsonWriteOptions, Message } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import { singleHeader, toWebHeaders } from "../connect-adapter/incoming-headers.js";
import { recodeRefusal } from "../connect-adapter/recode-connect-refusals.js";
import type { RecordRefusedCall } from "../observed-call/rpc-call.js";
import type { DecodeLargeInput } from "./decode-large-input.js";
import type { EncodeLargeOutput } from "./encode-large-output.js";
import type { ContextValuesOfPeer } from "./grpc-unary-path.js";
import {
  createLeanMethodSerialization,
  type LeanMethodSerialization,
} from "./lean-method-serialization.js";
import { withPredictJson } from "./predict-json-serialization.js";
import { CANCELED, recordRefusedCall } from "./refused-call.js";
import { createUnaryCallContext } from "./unary-call-context.js";
import { createUnaryInvokers, type UnaryInvoker } from "./unary-invoker.js";
import type { UnaryMethodSpec } from "./unary-method-table.js";

/** A Node request on either HTTP version, and its response. */
export type LeanRequest = IncomingMessage | Http2ServerRequest;
export type LeanResponse = ServerResponse | Http2ServerResponse;

/** Claims a request (true: it answers it) or leaves it to the next handler (false). */
export type RequestClaim = (req: LeanRequest, res: LeanResponse) => boolean;

/** A method's (de)serializers for JSON and binary, under the adapter's options. */
export type Serialization = LeanMethodSerialization;

/** What the lean HTTP paths (Connect, gRPC-Web) share with the Connect adapter. */
export interface LeanHttpPathOptions {
  /** The unary methods served, by path (see `createUnaryMethodTable`). */
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
  /** Records a call refused before the interceptors ran (bad timeout, body). */
  readonly recordRefusedCall?: RecordRefusedCall;
  /** Decodes big bodies off the event loop (see `DecodeLargeInput`). */
  readonly decodeLarge?: DecodeLargeInput;
  /** Builds and encodes big answers off the event loop (see `EncodeLargeOutput`). */
  readonly encodeLarge?: EncodeLargeOutput;
}

/** The options with each method's invoker, its interceptor chain built once (see `createUnaryInvoker`). */
export type PreparedLeanOptions = LeanHttpPathOptions & {
  readonly invokerOf: (entry: UnaryMethodSpec) => UnaryInvoker;
};

/** The path's options with its invokers, once per path. */
export function prepareLeanOptions(options: LeanHttpPathOptions): PreparedLeanOptions {
  return { ...options, invokerOf: createUnaryInvokers(options.interceptors) };
}

/** connect-node's default: smaller messages are never compressed. */
export const COMPRESS_MIN_BYTES = 1024;

/** Each method's serialization, by path, built once as the adapter builds its own (see `createLeanMethodSerialization`). */
export function createSerializers(
  options: LeanHttpPathOptions,
): ReadonlyMap<string, Serialization> {
  const serializers = new Map<string, Serialization>();
  for (const [path, { spec }] of options.methods) {
    const limits = { readMaxBytes: options.readMaxBytes, writeMaxBytes: 0xffffffff };
    const lookup = createLeanMethodSerialization(spec.method, options.jsonOptions, limits);
    serializers.set(path, withPredictJson(lookup, spec.method, options));
  }
  return serializers;
}

/** What a lean HTTP path serves a request with: its method and that method's serialization. */
export interface LeanTarget {
  readonly entry: UnaryMethodSpec;
  readonly serialization: Serialization;
}

/**
 * The method a request names, if a lean path may serve it: a POST to a recorded unary
 * method's exact path (no query string), a request body not compressed (the
 * protocol's `encodingHeader` absent or identity), and an authority that makes a URL.
 * Anything else is left to connect-node, which answers it as it always has.
 */
export function leanTarget(
  req: LeanRequest,
  options: LeanHttpPathOptions,
  serializers: ReadonlyMap<string, Serialization>,
  encodingHeader: string,
): LeanTarget | undefined {
  if (req.method !== "POST") return undefined;
  const path = req.url ?? "";
  const entry = options.methods.get(path);
  const serialization = serializers.get(path);
  if (entry === undefined || serialization === undefined) return undefined;
  const encoding = headerOf(req, encodingHeader);
  if (encoding !== null && encoding !== "identity") return undefined;
  if (!isUsableAuthority(authorityOf(req))) return undefined;
  return { entry, serialization };
}

/** One lean HTTP call as a protocol sees it: how to start it and how to read its input. */
export interface LeanCallInit {
  readonly options: PreparedLeanOptions;
  readonly entry: UnaryMethodSpec;
  readonly req: LeanRequest;
  readonly res: LeanResponse;
  readonly protocolName: "connect" | "grpc-web";
  /** The request's parsed timeout header, as the protocol's `parseTimeout` gives it. */
  readonly timeout: {
    readonly timeoutMs?: number | undefined;
    readonly error?: ConnectError | undefined;
  };
  readonly responseHeader: Record<string, string>;
  /** Sets what the protocol's response starts with, before the implementation runs. */
  readonly prepare?: (context: HandlerContext) => void;
  /** Thrown before the body is read (a compression the client asked for that is unknown). */
  readonly refusal?: ConnectError | undefined;
  /** Reads and parses the request message; what it throws is a refused call. */
  readonly readInput: (signal: AbortSignal) => Promise<Message>;
}

/** How a lean call ended: the handler's output, or the error to answer with. */
export type LeanCallEnd =
  | { readonly context: HandlerContext; readonly output: Message }
  | { readonly context: HandlerContext; readonly error: ConnectError };

/**
 * Runs one unary call the way connect-es's handlers do, for the protocols over Node's
 * request API: its `HandlerContext` (deadline, cut-off, the client leaving), the body
 * read, the implementation under the interceptors, any other error as Internal
 * "internal error", and a call refused before the interceptors recorded as such. The
 * protocol then writes its answer from what this returns.
 */
export async function runLeanCall(init: LeanCallInit): Promise<LeanCallEnd> {
  const { options, req, res, timeout } = init;
  const { service, spec } = init.entry;
  const startedAt = performance.now();
  let invoked = false;
  const call = createUnaryCallContext({
    protocolName: init.protocolName,
    service,
    method: spec.method,
    url: `http://${authorityOf(req)}${req.url}`,
    requestHeader: toWebHeaders(req.headers),
    timeoutMs: timeout.error ? undefined : timeout.timeoutMs,
    shutdownSignal: options.shutdownSignal,
    responseHeader: init.responseHeader,
    ...(options.contextValues && { values: options.contextValues({ socket: req.socket }) }),
  });
  const { context } = call;
  init.prepare?.(context);
  const onClose = () => call.abort(CANCELED);
  res.once("close", onClose);
  try {
    if (init.refusal) throw init.refusal;
    if (timeout.error) throw timeout.error;
    const input = await init.readInput(context.signal);
    invoked = true;
    return {
      context,
      output: await options.invokerOf(init.entry)(context, input),
    };
  } catch (reason) {
    // A body connect-es cannot decode is the client's (InvalidArgument); one over the
    // limit names the flag: as connect-node's handlers answer (recodeConnectRefusals).
    const error =
      reason instanceof ConnectError
        ? recodeRefusal(reason)
        : new ConnectError("internal error", Code.Internal, undefined, undefined, reason);
    call.abort(error);
    if (!invoked && options.recordRefusedCall) {
      recordRefusedCall(options.recordRefusedCall, {
        method: spec.method,
        headers: req.headers,
        remoteAddress: req.socket?.remoteAddress ?? "",
        error,
        startedAt,
        closed: res.closed,
        onClose: (listener) => res.once("close", listener),
        left: () => !res.writableFinished,
      });
    }
    return { context, error };
  } finally {
    res.off("close", onClose);
    call.finish();
  }
}

/** A request header's first value, or null as connect-es's parsers take it. */
export function headerOf(req: LeanRequest, name: string): string | null {
  return singleHeader(req.headers[name]) ?? null;
}

/** The request's authority: HTTP/2's `:authority`, else the Host header. */
export function authorityOf(req: LeanRequest): string | undefined {
  return "authority" in req ? req.authority : req.headers.host;
}

const usableAuthorities = new Map<string, boolean>();
const MAX_REMEMBERED_AUTHORITIES = 64;

/**
 * Whether `http://<authority>` parses as a URL, remembered for the few a server sees:
 * connect-node answers 400 to a request whose authority makes no URL, so a lean path
 * leaves such a request to it.
 */
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
