import { isDeadlineReason } from "../abort/deadline-reason.js";

/**
 * The catalogue of domain errors the core throws. The transport maps each kind to
 * exactly one gRPC/Connect code (see `services/to-connect-error.ts`); nothing in the
 * core knows about Connect.
 *
 * - `not_found`: unknown model or version (NotFound)
 * - `unavailable`: loading, draining, shutting down (Unavailable)
 * - `resource_exhausted`: queue full, request too large (ResourceExhausted)
 * - `invalid_argument`: bad tensor or parameter (InvalidArgument)
 * - `failed_precondition`: the model cannot do this (e.g. Generate on a classifier)
 * - `deadline_exceeded`: the request's deadline passed (DeadlineExceeded)
 * - `canceled`: the client went away (Canceled)
 * - `internal`: anything else; the message is logged, never sent to the client
 */
export type InferdErrorKind =
  | "not_found"
  | "unavailable"
  | "resource_exhausted"
  | "invalid_argument"
  | "failed_precondition"
  | "deadline_exceeded"
  | "canceled"
  | "internal";

/**
 * The facts behind an error's message, for an edge that must word it in its own
 * protocol's terms (the Open Inference Protocol names datatypes "FP32", not
 * "float32"). A closed list like the kinds: `dtype_mismatch` is an input whose
 * datatype differs from the model's (both as inferd dtype names).
 */
export type InferdErrorDetail = {
  readonly reason: "dtype_mismatch";
  readonly input: string;
  readonly dtype: string;
  readonly expected: string;
};

/** A domain error: a kind plus a message a person can act on, and optionally its {@link InferdErrorDetail}. */
export class InferdError extends Error {
  override readonly name = "InferdError";
  readonly detail: InferdErrorDetail | undefined;
  constructor(
    readonly kind: InferdErrorKind,
    message: string,
    options?: { cause?: unknown; detail?: InferdErrorDetail },
  ) {
    super(message, options);
    this.detail = options?.detail;
  }
}

/** Guard for {@link InferdError}, also across realms where `instanceof` fails. */
export function isInferdError(value: unknown): value is InferdError {
  return (
    value instanceof InferdError ||
    (value instanceof Error && value.name === "InferdError" && "kind" in value)
  );
}

/** Unknown model or version. */
export const notFound = (message: string) => new InferdError("not_found", message);
/** Loading, draining or shutting down: the client may retry. */
export const unavailable = (message: string) => new InferdError("unavailable", message);
/** A queue is full or a request is too large. */
export const resourceExhausted = (message: string) =>
  new InferdError("resource_exhausted", message);
/** A bad tensor or parameter, named in the message; `detail` when an edge may reword it. */
export const invalidArgument = (message: string, detail?: InferdErrorDetail) =>
  new InferdError("invalid_argument", message, detail && { detail });
/** The model cannot do this (for example Generate on a classifier). */
export const failedPrecondition = (message: string) =>
  new InferdError("failed_precondition", message);
/** The request's deadline passed before it was answered. */
export const deadlineExceeded = (message: string) => new InferdError("deadline_exceeded", message);
/** The client went away. */
export const canceled = (message = "the client cancelled the request") =>
  new InferdError("canceled", message);
/** A bug: the message is logged, the client sees only "internal". */
export const internal = (message: string, cause?: unknown) =>
  new InferdError("internal", message, { cause });

/**
 * Turns an aborted signal's reason into a domain error: a timeout (or a reason an edge
 * marked as its passed deadline, `markDeadlineReason`) becomes `deadline_exceeded`,
 * anything else `canceled`.
 */
export function abortReasonToError(signal: AbortSignal): InferdError {
  const reason: unknown = signal.reason;
  if (isInferdError(reason)) return reason;
  if (isDeadlineReason(reason) || (reason instanceof Error && reason.name === "TimeoutError")) {
    return deadlineExceeded("the request's deadline passed");
  }
  return canceled();
}
