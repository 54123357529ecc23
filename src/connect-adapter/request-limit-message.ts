import { Code, ConnectError } from "@connectrpc/connect";

/**
 * connect-es's wording (protocol/limit-io.js), with and without the size it read, and
 * connect-node's for a compressed body (compression.js, "message is larger than
 * configured readMaxBytes N after decompression").
 */
const CONNECT_ES =
  /^message (?:size (?:(\d+) )?)?is larger than configured readMaxBytes (\d+)( after decompression)?$/;

/**
 * The message for a request over the server's limit: it names the flag an operator
 * sets, `--max-request-bytes`, as the /v1 routes do, where connect-es names its own
 * option (`readMaxBytes`), which no inferd user can find. `size` when it is known.
 */
export function requestLimitMessage(size: number | undefined, limit: number): string {
  const what = size === undefined ? "the message" : `message size ${size}`;
  return `${what} is larger than the server's limit of ${limit} bytes (--max-request-bytes)`;
}

/**
 * connect-es's over-limit ResourceExhausted with {@link requestLimitMessage}; any
 * other error as it is. For the paths where connect-es reads the body: connect-node's
 * handlers (see `recodeConnectRefusals`) and the lean Connect and gRPC-Web paths.
 */
export function nameRequestLimit(error: ConnectError): ConnectError {
  if (error.code !== Code.ResourceExhausted) return error;
  const match = CONNECT_ES.exec(error.rawMessage);
  if (match === null) return error;
  const size = match[1] === undefined ? undefined : Number(match[1]);
  const message = requestLimitMessage(size, Number(match[2])) + (match[3] ?? "");
  // connect-es's limit error carries no details to keep.
  return new ConnectError(message, error.code, error.metadata, undefined, error.cause);
}
