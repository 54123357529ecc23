import { API_KEY_REQUIRED } from "./api-key-verifier.js";
import type { Admission } from "./key-ring.js";

/** How a plain HTTP route answers a refused {@link Admission}, whatever its body format. */
export interface HttpRefusal {
  readonly status: 401 | 403 | 429;
  readonly message: string;
  /** `www-authenticate` for 401, `retry-after` (whole seconds, rounded up) for 429. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * The status, message and headers of a refusal, the same for every HTTP API (`/v1`,
 * the Open Inference Protocol's REST routes); each wraps the message in its own body.
 */
export function httpRefusalOf(admission: Exclude<Admission, { ok: true }>): HttpRefusal {
  switch (admission.reason) {
    case "unauthenticated":
      return { status: 401, message: API_KEY_REQUIRED, headers: { "www-authenticate": "Bearer" } };
    case "forbidden":
      return { status: 403, message: admission.message, headers: {} };
    case "rate_limited": {
      const seconds = String(Math.max(1, Math.ceil(admission.retryAfterMs / 1000)));
      return { status: 429, message: admission.message, headers: { "retry-after": seconds } };
    }
  }
}
