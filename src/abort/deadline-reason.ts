const deadlineReasons = new WeakSet<object>();
const markingSignals = new WeakSet<AbortSignal>();

/**
 * Marks `reason` as a passed deadline, for a signal the transport aborts with its own
 * error (a ConnectError DeadlineExceeded): the core, which knows nothing of Connect,
 * reads a marked reason as deadline_exceeded (`abortReasonToError`). The mark is kept
 * beside the object, not on it, so logs and answers see the reason unchanged.
 */
export function markDeadlineReason<T extends object>(reason: T): T {
  deadlineReasons.add(reason);
  return reason;
}

/** Whether `reason` was marked by {@link markDeadlineReason}. */
export function isDeadlineReason(reason: unknown): boolean {
  return typeof reason === "object" && reason !== null && deadlineReasons.has(reason);
}

/**
 * Declares that `signal`, whenever it aborts for a passed deadline, does so with a
 * marked reason. Why: an edge then hands the signal to the core as it is, where it
 * otherwise links a second AbortController per call (~5 µs of CPU) only to turn the
 * deadline's reason into a domain error.
 */
export function declareDeadlineReasons(signal: AbortSignal): void {
  markingSignals.add(signal);
}

/** Whether `signal` was declared by {@link declareDeadlineReasons}. */
export function marksDeadlineReasons(signal: AbortSignal): boolean {
  return markingSignals.has(signal);
}
