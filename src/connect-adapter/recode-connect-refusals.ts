import type { ConnectRouter } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type {
  UniversalHandler,
  UniversalServerRequest,
  UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  errorFromJsonBytes,
  errorToJsonBytes,
} from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { guardRequestBody } from "./guard-request-body.js";
import { nameRequestLimit } from "./request-limit-message.js";
import { asRequestParseError } from "./request-parse-error.js";

/**
 * The error a client reads for connect-es's refusal `error`: an undecodable body
 * InvalidArgument ({@link asRequestParseError}), a body over the limit naming
 * `--max-request-bytes` ({@link nameRequestLimit}); any other error is returned as it is.
 */
export function recodeRefusal(error: ConnectError): ConnectError {
  return nameRequestLimit(asRequestParseError(error));
}

/**
 * Wraps every handler of `router` (call it last in connect-node's `routes`, which reads
 * `router.handlers` after) so that connect-node answers what it refuses before any
 * interceptor as the lean paths do: {@link recodeRefusal} applied to a unary call's
 * error (the Connect error body and its HTTP status, the gRPC trailers, the gRPC-Web
 * trailer frame), and the request body guarded ({@link guardRequestBody}: reserved
 * flag bits on gRPC, gRPC-Web and Connect streaming messages, and a Connect
 * `connect-protocol-version` other than 1, refused; streams included).
 * Why here: connect-es 2.1 decodes a unary request (body, GET query, decompression,
 * size limit) inside its protocol handlers and serializes the error itself; no option
 * (interceptors, `binaryOptions`, `jsonOptions`) sees that error, so the one place left
 * is the response each handler returns. A stream's request is read inside the call,
 * where `createRequestParseErrorInterceptor` and the error mapping re-code it instead.
 */
export function recodeConnectRefusals(router: ConnectRouter): void {
  const { handlers } = router;
  handlers.forEach((handler, i) => {
    handlers[i] = recoding(handler);
  });
}

function recoding(handler: UniversalHandler): UniversalHandler {
  const unary = handler.method.methodKind === "unary";
  const recoded = async (req: UniversalServerRequest): Promise<UniversalServerResponse> => {
    const body = guardRequestBody(req);
    const res = await handler(body === req.body ? req : { ...req, body });
    return unary ? recodeResponse(res) : res;
  };
  return Object.assign(recoded, {
    service: handler.service,
    method: handler.method,
    requestPath: handler.requestPath,
    protocolNames: handler.protocolNames,
    allowedMethods: handler.allowedMethods,
    supportedContentType: handler.supportedContentType,
  });
}

/** A unary response with its error re-coded, told apart by what each protocol returns. */
async function recodeResponse(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  // gRPC: the only protocol with trailers; a refusal has set them before the handler resolves.
  if (res.trailer !== undefined) {
    recodeGrpcStatus(res.trailer);
    return res;
  }
  const type = res.header?.get("content-type") ?? "";
  if (type.startsWith("application/grpc-web") && res.body !== undefined) {
    return { ...res, body: recodeTrailerFrames(res.body) };
  }
  // Connect: an error body is JSON; Internal answers 500, ResourceExhausted 429. A
  // compressed one (1 KiB or more) is longer than any message re-coded here.
  const candidate = res.status === 500 || res.status === 429;
  if (!candidate || type !== "application/json" || res.header?.has("content-encoding")) return res;
  return recodeConnectError(res);
}

/** The re-coded error of a status read back, or undefined when it stays as it is. */
function recodedStatus(found: ConnectError | undefined): ConnectError | undefined {
  if (found === undefined) return undefined;
  // Without the metadata the reader attaches: setTrailerStatus would append it again.
  const bare = new ConnectError(found.rawMessage, found.code);
  const recoded = recodeRefusal(bare);
  return recoded === bare ? undefined : recoded;
}

function recodeGrpcStatus(trailer: Headers): void {
  const recoded = recodedStatus(findTrailerError(trailer));
  if (recoded) setTrailerStatus(trailer, recoded);
}

/** A gRPC-Web body with the status of an uncompressed trailer frame re-coded. */
async function* recodeTrailerFrames(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) yield recodeTrailerFrame(chunk);
}

function recodeTrailerFrame(chunk: Uint8Array): Uint8Array {
  // connect-es writes each envelope as one chunk; a compressed trailer (1 KiB or more)
  // is longer than any message re-coded here.
  if (chunk.byteLength < 5 || chunk[0] !== trailerFlag) return chunk;
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (5 + view.getUint32(1) !== chunk.byteLength) return chunk;
  const trailer = trailerParse(chunk.subarray(5));
  const recoded = recodedStatus(findTrailerError(trailer));
  if (recoded === undefined) return chunk;
  const data = trailerSerialize(setTrailerStatus(trailer, recoded));
  const frame = new Uint8Array(5 + data.byteLength);
  frame[0] = trailerFlag;
  new DataView(frame.buffer).setUint32(1, data.byteLength);
  frame.set(data, 5);
  return frame;
}

/** A Connect unary error response with its error re-coded: status, body and length. */
async function recodeConnectError(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  const chunks: Uint8Array[] = [];
  if (res.body !== undefined) for await (const chunk of res.body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const fallback = new ConnectError("", Code.Unknown);
  let recoded: ConnectError | undefined;
  try {
    recoded = recodedStatus(errorFromJsonBytes(bytes, undefined, fallback));
  } catch {
    // Not a Connect error body: passed on as it was.
  }
  if (recoded === undefined) return { ...res, body: once(bytes) };
  const body = errorToJsonBytes(recoded, undefined);
  const header = new Headers(res.header);
  header.set("content-length", String(body.byteLength));
  return { ...res, status: codeToHttpStatus(recoded.code), header, body: once(body) };
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
