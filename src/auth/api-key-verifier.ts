import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Checks the value of an `Authorization` header (`Bearer <key>`, as OpenAI clients and
 * vLLM's `--api-key` use) against the server's keys. True when it carries one of them.
 */
export type ApiKeyVerifier = (authorization: string | null | undefined) => boolean;

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * A verifier over `keys`, or undefined when there are none (the server is open).
 * Keys are compared as SHA-256 digests with `timingSafeEqual`, so neither a key's
 * content nor its length shows in the time an answer takes. Several keys allow
 * rotation: add the new one, move clients, drop the old one.
 * @throws Error for a key with whitespace, which a bearer header cannot carry.
 */
export function createApiKeyVerifier(keys: readonly string[]): ApiKeyVerifier | undefined {
  const usable = keys.filter((key) => key !== "");
  if (usable.some((key) => /\s/.test(key))) {
    // "Bearer <key>" cannot carry it: such a key could never match, so say so at start.
    throw new Error("an --api-key value must not contain whitespace");
  }
  if (usable.length === 0) return undefined;
  const digests = usable.map(digest);
  return (authorization) => {
    const key = BEARER.exec(authorization ?? "")?.[1];
    if (key === undefined) return false;
    const given = digest(key);
    // Every key is compared, so the time does not tell which one matched.
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(d, given) || ok;
    return ok;
  };
}

/** What a client that was refused is told: how to authenticate, never which key. */
export const API_KEY_REQUIRED =
  "missing or wrong API key: send the header 'Authorization: Bearer <key>' with a key given to the server's --api-key";

function digest(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}
