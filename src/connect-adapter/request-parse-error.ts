import { Code, ConnectError, type Interceptor, type StreamRequest } from "@connectrpc/connect";

/**
 * The messages connect-es gives a request body it cannot decode, each with
 * `Code.Internal`: its binary serialization wraps every `fromBinary` failure as
 * Internal "parse binary: ..." (its JSON one says InvalidArgument), and its envelope
 * reader answers a compressed flag on a call without a request encoding Internal (its
 * own doc comment says InvalidArgument), and connect-node's decompression answers a
 * compressed body zlib cannot finish (a truncated gzip stream) Internal "decompression
 * failed". All are the client's bytes, not a fault of the server. A response that
 * fails to encode says "serialize binary" and stays Internal.
 */
const DECODE_FAILURES: readonly RegExp[] = [
  /^parse binary: /,
  /^received compressed envelope, but do not know how to decompress$/,
  /^decompression failed$/,
];

/**
 * The messages connect-es gives a unary or server-streaming call whose request body
 * holds no message or more than one (`ensureSingle`), with `Code.Unimplemented`: the
 * client broke the framing, as the lean gRPC path answers (InvalidArgument).
 */
const SINGLE_MESSAGE_FAULT =
  /^protocol error: (missing|received extra) input message for (unary|server-streaming) method$/;

/**
 * `error` re-coded InvalidArgument when it is connect-es's failure to decode a request
 * (see above) or its refusal of a body without exactly one message where the method
 * takes one, with the same message; anything else is returned as it is. Why: Internal
 * (and an error-level log line) is for inferd's own faults, and Unimplemented says the
 * server lacks something; a client sending garbage must read InvalidArgument, as the
 * lean gRPC path answers the same bytes.
 */
export function asRequestParseError<E>(error: E): E | ConnectError {
  if (!(error instanceof ConnectError) || !isClientFraming(error)) return error;
  return new ConnectError(error.rawMessage, Code.InvalidArgument, error.metadata);
}

function isClientFraming(error: ConnectError): boolean {
  if (error.code === Code.Unimplemented) return SINGLE_MESSAGE_FAULT.test(error.rawMessage);
  return (
    error.code === Code.Internal &&
    DECODE_FAILURES.some((pattern) => pattern.test(error.rawMessage))
  );
}

/**
 * A server interceptor that applies {@link asRequestParseError} to what a streaming
 * call throws: connect-node decodes a stream's request messages inside the call (a
 * server stream's one message before the implementation, a client or bidi stream's
 * while the implementation reads them), so their decode failures pass through the
 * interceptors. Put it innermost, so that the logging and metrics interceptors see the
 * re-coded error. Unary calls pass untouched: connect-node decodes them before any
 * interceptor (`recodeConnectRefusals` re-codes its answer), and the lean paths re-code
 * their own (`runLeanCall`).
 */
export function createRequestParseErrorInterceptor(): Interceptor {
  // Not an async function: a unary call (the hot path) is handed on with no promise,
  // frame or closure of this layer's own.
  return (next) => (req) => (req.stream ? recodeStream(next, req) : next(req));
}

type Next = Parameters<Interceptor>[0];

async function recodeStream(next: Next, req: StreamRequest): ReturnType<Next> {
  try {
    const res = await next(req);
    return res.stream ? { ...res, message: recodeThrown(res.message) } : res;
  } catch (error) {
    throw asRequestParseError(error);
  }
}

async function* recodeThrown<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
  // `yield*` forwards the consumer's return() to the call's own generator.
  try {
    yield* messages;
  } catch (error) {
    throw asRequestParseError(error);
  }
}
