/**
 * Why an HTTP API route refused a request before (or around) the domain: the edge's
 * own failures, which the domain catalogue (`InferdError`) has no kind for. Each
 * protocol's error mapping (`openai/openai-error.ts`, `open-inference/oip-error.ts`)
 * gives every reason its own body, so this list is closed like the domain's.
 */
export type HttpErrorReason =
  | "unauthenticated"
  | "forbidden"
  | "rate_limited"
  | "method_not_allowed"
  | "unknown_endpoint"
  | "body_too_large"
  | "bad_body"
  | "shutting_down"
  | "cut_off";

/** A refusal by the HTTP edge: the status to answer and an actionable message. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly status: number,
    readonly reason: HttpErrorReason,
    message: string,
  ) {
    super(message);
  }
}
