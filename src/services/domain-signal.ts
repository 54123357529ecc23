import { Code, ConnectError } from "@connectrpc/connect";
import { canceled, deadlineExceeded, type InferdError } from "../errors/inferd-error.js";

/**
 * The domain error for an aborted Connect handler signal: deadline_exceeded for
 * Connect's deadline (or a timeout), canceled for anything else.
 */
export function domainAbortError(signal: AbortSignal): InferdError {
  const reason: unknown = signal.reason;
  const timedOut =
    (reason instanceof ConnectError && reason.code === Code.DeadlineExceeded) ||
    (reason instanceof Error && reason.name === "TimeoutError");
  return timedOut ? deadlineExceeded("the request's deadline passed") : canceled();
}

/** A domain signal that follows its source until {@link LinkedDomainSignal.unlink}. */
export interface LinkedDomainSignal {
  readonly signal: AbortSignal;
  /**
   * Stops following the source. Connect aborts every handler's signal when the call
   * ends, even a successful one; a handler unlinks once it is done so that this abort
   * does not build a domain error and abort a second signal for nobody.
   */
  unlink(): void;
}

/**
 * {@link toDomainSignal} until unlinked: for a call with a deadline, whose abort the
 * core must read as deadline_exceeded, not as a cancel.
 */
export function linkDomainSignal(signal: AbortSignal): LinkedDomainSignal {
  const controller = new AbortController();
  const forward = () => controller.abort(domainAbortError(signal));
  if (signal.aborted) forward();
  else signal.addEventListener("abort", forward, { once: true });
  return {
    signal: controller.signal,
    unlink: () => signal.removeEventListener("abort", forward),
  };
}

/**
 * A signal that follows a Connect handler's `context.signal` but aborts with a domain
 * error as its reason ({@link domainAbortError}): Connect aborts on a passed deadline
 * with a ConnectError(DeadlineExceeded), which the core (knowing nothing of Connect)
 * would otherwise report as a cancel. For the items of BatchPredict and PredictStream,
 * which share the call's signal.
 */
export function toDomainSignal(signal: AbortSignal): AbortSignal {
  return linkDomainSignal(signal).signal;
}
