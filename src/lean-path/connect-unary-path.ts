import type { OutgoingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { ConnectError, type HandlerContext } from "@connectrpc/connect";
import { compressionNegotiate } from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  errorToJsonBytes,
  parseContentType,
  parseTimeout,
  trailerMux,
} from "@connectrpc/connect/protocol-connect";
import { connectProtocolVersionError } from "../connect-adapter/connect-protocol-version.js";
import { settleEncoded } from "./encode-large-output.js";
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
import { readRequestBytes } from "./read-request-bytes.js";
import type { UnaryMethodSpec } from "./unary-method-table.js";

/** Options of `createConnectUnaryPath`: what it shares with the Connect adapter. */
export type ConnectUnaryPathOptions = LeanHttpPathOptions;

/**
 * A lean path for unary calls of the Connect protocol (POST, JSON or binary, HTTP/1.1
 * or HTTP/2) beside connect-node: it runs the very implementation and interceptors
 * (see `runLeanCall`), and answers byte for byte as connect-node's unary handler does
 * (same serialization, error JSON, status mapping, `trailer-` headers, compression),
 * built from connect-es's own protocol functions. GET requests, compressed request
 * bodies, query strings and anything but unary Connect go on to connect-node.
 * Why: connect-node's generic pipeline (web Headers, URL, async iterables per call)
 * costs ~0.5-1 ms of main-thread CPU per call, several times a small model's run.
 */
export function createConnectUnaryPath(options: ConnectUnaryPathOptions): RequestClaim {
  const prepared = prepareLeanOptions(options);
  const serializers = createSerializers(options);
  return (req, res) => {
    const target = leanTarget(req, options, serializers, "content-encoding");
    if (target === undefined) return false;
    const type = parseContentType(headerOf(req, "content-type"));
    if (type === undefined || type.stream) return false;
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
    null,
    headerOf(req, "accept-encoding"),
    "accept-encoding",
  );
  const end = await runLeanCall({
    options,
    entry,
    req,
    res,
    protocolName: "connect",
    timeout: parseTimeout(headerOf(req, "connect-timeout-ms"), Number.MAX_SAFE_INTEGER),
    responseHeader: { "content-type": binary ? contentTypeUnaryProto : contentTypeUnaryJson },
    refusal: compression.error,
    readInput: async () => {
      // Where connect-node's path refuses it too (guardRequestBody): after the
      // compression and timeout checks, before the body is read.
      const version = connectProtocolVersionError(headerOf(req, "connect-protocol-version"));
      if (version) throw version;
      const length = headerOf(req, "content-length");
      const bytes = await readRequestBytes(req as Readable, options.readMaxBytes, length);
      const decoded = options.decodeLarge?.(req.url ?? "", bytes, binary);
      return decoded ?? serialization.getI(binary).parse(bytes);
    },
  });
  const { context } = end;
  let status = 200;
  let body: Uint8Array | ConnectError = "error" in end ? end.error : new Uint8Array(0);
  if ("output" in end) {
    const large = options.encodeLarge?.(req.url ?? "", end.output, binary);
    body = large ? await settleEncoded(large) : serialization.getO(binary).serialize(end.output);
  }
  if (body instanceof ConnectError) {
    status = codeToHttpStatus(body.code);
    context.responseHeader.set("content-type", contentTypeUnaryJson);
    body.metadata.forEach((value, key) => {
      context.responseHeader.set(key, value);
    });
    body = errorToJsonBytes(body, options.jsonOptions);
  }
  if (compression.response && body.byteLength >= COMPRESS_MIN_BYTES) {
    body = await compression.response.compress(body);
    context.responseHeader.set("content-encoding", compression.response.name);
  }
  respond(res, status, responseHead(context, String(body.byteLength)), body);
}

function respond(res: LeanResponse, status: number, head: OutgoingHttpHeaders, body: Uint8Array) {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, head);
  res.end(body);
}

/**
 * The response's head as connect-node writes it: `trailerMux` of the call's header and
 * trailer with `content-length` set, in the Headers' (sorted) order, `set-cookie` as a list.
 * Why: with no trailer (the usual call), the header's own sorted fields with the length
 * slotted in give the same fields in the same order without copying it into a third
 * Headers (~0.5 µs of undici per call).
 */
function responseHead(context: HandlerContext, length: string): OutgoingHttpHeaders {
  const { responseHeader, responseTrailer } = context;
  const trailed = responseTrailer.keys().next().done !== true;
  const header = trailed ? trailerMux(responseHeader, responseTrailer) : responseHeader;
  const head: OutgoingHttpHeaders = {};
  let placed = false;
  header.forEach((value, key) => {
    if (!placed && key >= "content-length") {
      head["content-length"] = length;
      placed = true;
      if (key === "content-length") return;
    }
    head[key] = key === "set-cookie" ? header.getSetCookie() : value;
  });
  if (!placed) head["content-length"] = length;
  return head;
}
