import { followAbort } from "./follow-abort.js";

/** Turns an aborted signal into the error a race rejects with. */
export type AbortToError = (signal: AbortSignal) => unknown;

const reasonOf: AbortToError = (signal) => signal.reason;

/**
 * Settles like `promise`, unless `signal` aborts first (or already has): then
 * rejects at once with `toError(signal)`, by default the signal's own reason. Core
 * code passes `abortReasonToError` to reject with a domain error; the transport
 * keeps the reason it aborted with (a ConnectError).
 *
 * Why: a caller that stops waiting must not wait for work that cannot be cancelled
 * (a load in progress, a worker's start-up, a handler ignoring the cut-off). The
 * abort listener is removed as soon as either side settles, so a long-lived signal
 * (the server's cut-off) does not collect one listener per race. Once the abort
 * wins nobody awaits `promise`: its later rejection is handled here, never reported
 * as unhandled. Without a signal, `promise` itself is returned.
 */
export function raceAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  toError: AbortToError = reasonOf,
): Promise<T> {
  if (!signal) return promise;
  promise.catch(() => undefined);
  if (signal.aborted) return Promise.reject(toError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(toError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * {@link raceAbort} for a long-lived signal that many calls race at once (the server's
 * cut-off): the same contract with the signal's reason, through {@link followAbort}'s
 * one shared listener, and with fewer promises per race.
 */
export function raceSharedAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const unfollow = followAbort(signal, reject);
    promise.then(
      (value) => {
        unfollow();
        resolve(value);
      },
      (error: unknown) => {
        unfollow();
        reject(error);
      },
    );
  });
}
