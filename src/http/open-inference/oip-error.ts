import { type InferdErrorKind, isInferdError } from "../../errors/inferd-error.js";
import { HttpError } from "../http-error.js";

/** The Open Inference Protocol's error body: `{"error": "<message>"}`. */
export interface OipErrorBody {
  readonly error: string;
}

/** The logging the mapping needs for internal errors; a pino logger satisfies it. */
export interface OipErrorLogger {
  error(obj: object, msg?: string): void;
}

/**
 * HTTP status by domain error kind. The spec says "typically 400" for a failed
 * request; Triton's HTTP frontend refines it as here (404 for what does not exist,
 * 503 for what is not available yet or any more), and the rest follow inferd's /v1.
 */
const BY_KIND: Readonly<Record<InferdErrorKind, number>> = {
  invalid_argument: 400,
  failed_precondition: 400,
  not_found: 404,
  resource_exhausted: 429,
  unavailable: 503,
  deadline_exceeded: 504,
  canceled: 499,
  internal: 500,
};

/**
 * The one mapping from errors to `/v2` answers, the OIP twin of
 * `services/to-connect-error.ts`: domain errors by kind (message kept, it names the
 * limit or what exists), the HTTP edge's refusals with their own status. Internal
 * errors and anything unknown are logged and answered with a fixed message.
 */
export function toOipError(
  error: unknown,
  logger?: OipErrorLogger,
): { status: number; body: OipErrorBody } {
  if (error instanceof HttpError) return { status: error.status, body: { error: error.message } };
  if (isInferdError(error) && error.kind !== "internal") {
    return { status: BY_KIND[error.kind], body: { error: error.message } };
  }
  logger?.error({ err: error }, "internal error");
  return { status: BY_KIND.internal, body: { error: "internal error (see server log)" } };
}
