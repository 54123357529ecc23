import type { ConnectError } from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import { connectProtocolVersionError } from "./connect-protocol-version.js";
import { CONNECT_REQUEST_FLAGS, rejectReservedFlags } from "./grpc-reserved-flags.js";

type Body = UniversalServerRequest["body"];

const GRPC_FAMILY = /^application\/grpc/i;
const GRPC_WEB_TEXT = /^application\/grpc-web-text/i;
const CONNECT_STREAM = /^application\/connect\+/i;

/**
 * The body connect-node is given for `req`, refusing what connect-es lets through:
 * - gRPC and gRPC-Web (binary) messages with a reserved flag bit ({@link rejectReservedFlags};
 *   gRPC-Web's trailer flag `0x80` on a request included, which connect-es reads as the
 *   end of the stream);
 * - Connect streaming messages with a bit set besides compressed and end-stream;
 * - any Connect request (unary or streaming) whose `connect-protocol-version` is not 1
 *   ({@link connectProtocolVersionError}), as connect-go refuses it.
 * Each refusal is thrown where connect-es reads the body, so it answers it in its own
 * protocol's form (after its compression and timeout checks, as the lean paths do).
 * Anything else (gRPC-Web text, which connect-es refuses as a media type, a body that is
 * not a byte stream) is returned as it is.
 */
export function guardRequestBody(req: UniversalServerRequest): Body {
  const { body } = req;
  if (!isByteStream(body)) return body;
  const type = req.header.get("content-type") ?? "";
  if (GRPC_FAMILY.test(type)) return GRPC_WEB_TEXT.test(type) ? body : rejectReservedFlags(body);
  const refused = connectProtocolVersionError(req.header.get("connect-protocol-version"));
  if (refused) return refusing(refused);
  return CONNECT_STREAM.test(type) ? rejectReservedFlags(body, CONNECT_REQUEST_FLAGS) : body;
}

function isByteStream(body: Body): body is AsyncIterable<Uint8Array> {
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}

/** A body whose first read rejects with `error`; the request's own body is left unread. */
function refusing(error: ConnectError): AsyncIterable<Uint8Array> {
  return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }) };
}
