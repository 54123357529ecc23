import { ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { isInferdError } from "../errors/inferd-error.js";

/**
 * The final status of a failed call in snake_case ("invalid_argument"), as the
 * Connect protocol spells codes. A domain error that escaped unmapped keeps its
 * kind (the kinds are named after the codes); anything else goes through
 * `ConnectError.from`, which makes aborts "canceled" and the rest "unknown".
 */
export function rpcCodeOf(error: unknown): string {
  if (isInferdError(error)) return error.kind;
  return codeToString(ConnectError.from(error).code);
}

/** Codes that mean the server, not the client, is at fault. */
const SERVER_FAULT_CODES: ReadonlySet<string> = new Set([
  "unknown",
  "internal",
  "data_loss",
  "unimplemented",
]);

/** True for codes that point at a server bug rather than at the request. */
export function isServerFaultCode(code: string): boolean {
  return SERVER_FAULT_CODES.has(code);
}

/**
 * The code of a call whose signal aborted, from the abort's reason. Connect aborts a
 * call for three causes: its deadline, the server's shutdown cut-off, or the client
 * leaving; the last comes as whatever the client's RST_STREAM code maps to
 * ("internal" for INTERNAL_ERROR, which connect-node's own client sends at its
 * deadline), but it is the client's doing, so it counts as "canceled".
 */
export function abortCodeOf(reason: unknown): string {
  const code = rpcCodeOf(reason);
  return code === "deadline_exceeded" || code === "unavailable" ? code : "canceled";
}

/**
 * A code's name as grpc-go spells it ("OK", "InvalidArgument"): what go-grpc-prometheus
 * puts in `grpc_code`, the label whose name inferd's metrics copy, so that dashboards
 * and alerts written for it work unchanged. Takes the snake_case of {@link rpcCodeOf}.
 */
export function grpcCodeName(code: string): string {
  let name = GRPC_CODE_NAMES.get(code);
  if (name === undefined) {
    name =
      code === "ok" ? "OK" : code.replace(/(?:^|_)([a-z])/g, (_, c: string) => c.toUpperCase());
    // Per call on the hot path: each of the 17 codes is spelled once.
    if (GRPC_CODE_NAMES.size < 64) GRPC_CODE_NAMES.set(code, name);
  }
  return name;
}

const GRPC_CODE_NAMES = new Map<string, string>();
