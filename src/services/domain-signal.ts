import { Code, ConnectError } from "@connectrpc/connect";
import { canceled, deadlineExceeded, type InferdError } from "../errors/inferd-error.js";

/**
 * The domain error for an aborted Connect handler signal: deadline_exceeded for
 * Connect's deadline (or a timeout), canceled for anything else. A handler that hands
 * `context.signal` itself to the core maps the core's abort errors with this.
 */
export function domainAbortError(signal: AbortSignal): InferdError {
  const reason: unknown = signal.reason;
  const timedOut =
    (reason instanceof ConnectError && reason.code === Code.DeadlineExceeded) ||
    (reason instanceof Error && reason.name === "TimeoutError");
  return timedOut ? deadlineExceeded("the request's deadline passed") : canceled();
}

/**
 * A signal that follows a Connect handler's `context.signal` but aborts with a domain
 * error as its reason ({@link domainAbortError}): Connect aborts on a passed deadline
 * with a ConnectError(DeadlineExceeded), which the core (knowing nothing of Connect)
 * would otherwise report as a cancel. For the items of BatchPredict and PredictStream,
 * which share the call's signal.
 */
export function toDomainSignal(signal: AbortSignal): AbortSignal {
  const controller = new AbortController();
  const forward = () => controller.abort(domainAbortError(signal));
  if (signal.aborted) forward();
  else signal.addEventListener("abort", forward, { once: true });
  return controller.signal;
}
