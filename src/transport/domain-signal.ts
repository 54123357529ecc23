import { Code, ConnectError } from "@connectrpc/connect";
import { canceled, deadlineExceeded } from "../errors/inferd-error.js";

/**
 * A signal that follows a Connect handler's `context.signal` but aborts with a domain
 * error as its reason: Connect aborts on a passed deadline with a
 * ConnectError(DeadlineExceeded), which the core (knowing nothing of Connect) would
 * otherwise report as a cancel.
 */
export function toDomainSignal(signal: AbortSignal): AbortSignal {
  const controller = new AbortController();
  const forward = () => {
    const reason: unknown = signal.reason;
    const timedOut =
      (reason instanceof ConnectError && reason.code === Code.DeadlineExceeded) ||
      (reason instanceof Error && reason.name === "TimeoutError");
    controller.abort(timedOut ? deadlineExceeded("the request's deadline passed") : canceled());
  };
  if (signal.aborted) forward();
  else signal.addEventListener("abort", forward, { once: true });
  return controller.signal;
}
