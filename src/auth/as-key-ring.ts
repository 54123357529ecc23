import type { ApiKeyVerifier } from "./api-key-verifier.js";
import type { KeyRing } from "./key-ring.js";

/** The name an {@link ApiKeyVerifier}'s key goes by in logs: it knows no names. */
export const VERIFIER_KEY_NAME = "api-key";

/**
 * A {@link KeyRing} over a plain {@link ApiKeyVerifier} (every scope, no limits), so the
 * interceptor and the routes take either; the verifier's callers keep working.
 */
export function asKeyRing(keys: ApiKeyVerifier | KeyRing): KeyRing {
  if (typeof keys !== "function") return keys;
  return {
    authorize: (authorization) =>
      keys(authorization)
        ? { ok: true, key: VERIFIER_KEY_NAME }
        : { ok: false, reason: "unauthenticated" },
    chargeGeneratedTokens: () => {},
    replaceFileKeys: () => {
      throw new Error("a plain API key verifier has no keys file");
    },
  };
}
