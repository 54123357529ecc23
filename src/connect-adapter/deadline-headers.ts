import type { IncomingHttpHeaders } from "node:http";

/** The longest wait a Node timer can hold (~24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const GRPC_TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const GRPC_UNIT_MS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};

/**
 * Drops a `grpc-timeout` or `connect-timeout-ms` header whose deadline lies further
 * away than a Node timer can wait. connect-es (and our lean gRPC path) would set a
 * timer for it that Node fires after 1 ms, failing the call DeadlineExceeded at once;
 * clients send such values (30 days, 99999999H) to mean "no deadline", and grpc-go
 * takes them so. Malformed values are left for the protocol to refuse.
 */
export function dropUnschedulableDeadline(headers: IncomingHttpHeaders): void {
  const grpc = headers["grpc-timeout"];
  const match = typeof grpc === "string" ? GRPC_TIMEOUT.exec(grpc) : null;
  if (match && Number(match[1]) * (GRPC_UNIT_MS[match[2] ?? ""] ?? 0) > MAX_TIMER_MS) {
    delete headers["grpc-timeout"];
  }
  const connect = headers["connect-timeout-ms"];
  if (typeof connect === "string" && /^\d{1,10}$/.test(connect) && Number(connect) > MAX_TIMER_MS) {
    delete headers["connect-timeout-ms"];
  }
}
