import { API_KEY_REQUIRED } from "../../auth/api-key-verifier.js";
import { httpRefusalOf } from "../../auth/http-refusal.js";
import type { Admission } from "../../auth/key-ring.js";
import { OpenAiError } from "./openai-error.js";

/**
 * OpenAI's answer to a refused key, its headers (`www-authenticate`, `retry-after`) set on
 * `res`: 401 `invalid_api_key`, 403 `insufficient_permissions`, or 429
 * `rate_limit_exceeded` with type `requests` or `tokens`, as OpenAI names its limits.
 */
export function openAiKeyRefusal(
  res: { setHeader(name: string, value: string): unknown },
  admission: Exclude<Admission, { ok: true }>,
): OpenAiError {
  const { status, message, headers } = httpRefusalOf(admission);
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  switch (admission.reason) {
    case "unauthenticated":
      return new OpenAiError(
        401,
        API_KEY_REQUIRED,
        "invalid_request_error",
        null,
        "invalid_api_key",
      );
    case "forbidden":
      return new OpenAiError(
        status,
        message,
        "invalid_request_error",
        null,
        "insufficient_permissions",
      );
    case "rate_limited": {
      const type = admission.limit === "requests" ? "requests" : "tokens";
      return new OpenAiError(status, message, type, null, "rate_limit_exceeded");
    }
  }
}
