import { Code, ConnectError } from "@connectrpc/connect";

/** The only version of the Connect protocol there is. */
const CONNECT_PROTOCOL_VERSION = "1";

/**
 * The error for a Connect request whose `connect-protocol-version` header names a
 * version other than 1, or undefined when the header is 1, empty or absent (a client
 * may leave it out: curl, hand-written requests). Why: connect-go refuses any other
 * value with invalid_argument and this very message (`connectHandler.NewConn` in
 * protocol_connect.go), while connect-es checks the header only under
 * `requireConnectProtocolHeader`, which also refuses a missing one; a client speaking
 * a future version must hear that this server does not, not get an answer in version 1.
 */
export function connectProtocolVersionError(value: string | null): ConnectError | undefined {
  if (value === null || value === "" || value === CONNECT_PROTOCOL_VERSION) return undefined;
  return new ConnectError(
    `Connect-Protocol-Version must be "${CONNECT_PROTOCOL_VERSION}": got "${value}"`,
    Code.InvalidArgument,
  );
}
