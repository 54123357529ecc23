import { type InferdErrorKind, isInferdError } from "../../errors/inferd-error.js";
import { HttpError, type HttpErrorReason } from "../http-error.js";

/** OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`. */
export interface OpenAiErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly param: string | null;
    readonly code: string | null;
  };
}

/** An error the OpenAI routes answer with: the HTTP status and OpenAI's body. */
export class OpenAiError extends Error {
  override readonly name = "OpenAiError";
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = "invalid_request_error",
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }

  get body(): OpenAiErrorBody {
    const { message, type, param, code } = this;
    return { error: { message, type, param, code } };
  }
}

/** The logging the mapping needs for internal errors; a pino logger satisfies it. */
export interface OpenAiErrorLogger {
  error(obj: object, msg?: string): void;
}

type Mapped = readonly [status: number, type: string, code: string | null];

const BY_KIND: Readonly<Record<Exclude<InferdErrorKind, "internal">, Mapped>> = {
  invalid_argument: [400, "invalid_request_error", "invalid_value"],
  not_found: [404, "invalid_request_error", "model_not_found"],
  failed_precondition: [400, "invalid_request_error", "model_not_supported"],
  resource_exhausted: [429, "rate_limit_error", "server_busy"],
  unavailable: [503, "server_error", "unavailable"],
  deadline_exceeded: [504, "server_error", "timeout"],
  canceled: [499, "invalid_request_error", "cancelled"],
};

/** OpenAI's type and code for each refusal of the HTTP edge (its status is the edge's). */
const BY_REASON: Readonly<Record<HttpErrorReason, readonly [type: string, code: string | null]>> = {
  unauthenticated: ["invalid_request_error", "invalid_api_key"],
  forbidden: ["invalid_request_error", "insufficient_permissions"],
  rate_limited: ["requests", "rate_limit_exceeded"],
  method_not_allowed: ["invalid_request_error", null],
  unknown_endpoint: ["invalid_request_error", null],
  body_too_large: ["invalid_request_error", "request_too_large"],
  bad_body: ["invalid_request_error", null],
  shutting_down: ["server_error", null],
  cut_off: ["server_error", null],
};

/**
 * The one mapping from domain errors to OpenAI errors, the HTTP twin of
 * `services/to-connect-error.ts`: status and type by kind (and by reason for the
 * HTTP edge's own refusals), the domain message kept
 * (it names the limit). Internal errors are logged and answered with a fixed message.
 */
export function toOpenAiError(error: unknown, logger?: OpenAiErrorLogger): OpenAiError {
  if (error instanceof OpenAiError) return error;
  if (error instanceof HttpError) {
    const [type, code] = BY_REASON[error.reason];
    return new OpenAiError(error.status, error.message, type, null, code);
  }
  if (isInferdError(error) && error.kind !== "internal") {
    const [status, type, code] = BY_KIND[error.kind];
    return new OpenAiError(status, error.message, type, paramOf(error.message), code);
  }
  logger?.error({ err: error }, "internal error");
  return new OpenAiError(500, "internal error (see server log)", "server_error", null, null);
}

/**
 * The parameter a domain message starts with, if any: "temperature -1 is out of range",
 * "logit_bias[7] 101 is out of range", "stop_token_ids holds 9999, outside the vocabulary",
 * 'logit_bias key "x" is not a token id'.
 */
function paramOf(message: string): string | null {
  const match = /^([a-z_]+)(?:\[\d+\])?(?: \S+ is out of range| holds | key )/.exec(message);
  return match?.[1] ?? null;
}
