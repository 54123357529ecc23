import { Code, ConnectError } from "@connectrpc/connect";
import { marksDeadlineReasons } from "../abort/deadline-reason.js";
import {
  canceled,
  deadlineExceeded,
  type InferdError,
  isInferdError,
} from "../errors/inferd-error.js";

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

/**
 * The error a call ends with once its handler signal has aborted: the transport's own
 * reason when it is a ConnectError (DeadlineExceeded for a passed deadline, Unavailable
 * for the drain's cut-off, Canceled for a client gone), else {@link domainAbortError}.
 */
export function abortedCallError(signal: AbortSignal): ConnectError | InferdError {
  const reason: unknown = signal.reason;
  return reason instanceof ConnectError ? reason : domainAbortError(signal);
}

/**
 * What a handler's error means for its call. A domain `canceled` thrown once the call's
 * signal has aborted is the core's reading of that abort: knowing nothing of Connect,
 * `abortReasonToError` reads Connect's deadline as a cancel. The call then ends with
 * {@link abortedCallError}, so a passed deadline answers DeadlineExceeded on every
 * protocol, not Canceled (HTTP 499). Any other error is the call's own answer.
 */
export function callErrorOf(error: unknown, signal: AbortSignal | undefined): unknown {
  const readAsCancel = isInferdError(error) && error.kind === "canceled";
  return readAsCancel && signal?.aborted ? abortedCallError(signal) : error;
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

const noUnlink = () => {};

/**
 * {@link toDomainSignal} until unlinked: for a call with a deadline, whose abort the
 * core must read as deadline_exceeded, not as a cancel.
 */
export function linkDomainSignal(signal: AbortSignal): LinkedDomainSignal {
  // A lean path's signal marks its deadline's reason: the core reads it right as it is.
  if (marksDeadlineReasons(signal)) return { signal, unlink: noUnlink };
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
