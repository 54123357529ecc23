import { createHash, timingSafeEqual } from "node:crypto";
import type { KeyEntry } from "./keys-file.js";
import { SCOPES, type Scope } from "./scope.js";
import { createTokenBucket, type TokenBucket } from "./token-bucket.js";

/** Which limit refused a request: its requests per second, or its generated tokens per second. */
export type RateLimit = "requests" | "generated_tokens";

/**
 * The answer to "may this request's key use this scope": admitted with the key's name,
 * or refused with the reason the protocols map to their codes (401 / Unauthenticated,
 * 403 / PermissionDenied, 429 / ResourceExhausted with the time to wait).
 */
export type Admission =
  | { readonly ok: true; readonly key: string }
  | { readonly ok: false; readonly reason: "unauthenticated" }
  | {
      readonly ok: false;
      readonly reason: "forbidden";
      readonly key: string;
      readonly message: string;
    }
  | {
      readonly ok: false;
      readonly reason: "rate_limited";
      readonly key: string;
      readonly limit: RateLimit;
      readonly retryAfterMs: number;
      readonly message: string;
    };

/** The server's keys: the one place the interceptor and the HTTP routes ask. */
export interface KeyRing {
  /**
   * Checks the `Authorization: Bearer <key>` header against every key, then the scope,
   * then the key's limits (a request of scope `infer` also waits for a generated-tokens
   * debt to be paid back). An admitted request has taken its request token.
   */
  authorize(authorization: string | null | undefined, scope: Scope): Admission;
  /** Charges tokens a key's generation produced (after the fact; unknown names are ignored). */
  chargeGeneratedTokens(key: string | undefined, tokens: number): void;
  /** Replaces the keys of the keys file; a key whose name and limits stay keeps its buckets. */
  replaceFileKeys(entries: readonly KeyEntry[]): void;
}

/** Options of {@link createKeyRing}. */
export interface KeyRingOptions {
  /** `--api-key` / `INFERD_API_KEY`: every scope, no limits, named `api-key-1`, `api-key-2`... */
  readonly keys?: readonly string[];
  /** The keys file's entries at start. */
  readonly fileKeys?: readonly KeyEntry[];
  /** Called when a limit refuses a request (metrics). */
  readonly onRateLimited?: (key: string, limit: RateLimit) => void;
  /** Milliseconds, monotonic, for the buckets; tests inject it. */
  readonly now?: () => number;
}

interface RingKey {
  readonly name: string;
  readonly digest: Buffer;
  readonly scopes: ReadonlySet<Scope>;
  readonly limits: string;
  readonly requests?: TokenBucket;
  readonly generated?: TokenBucket;
}

/** Creates the {@link KeyRing}. @throws Error for an `--api-key` value with whitespace. */
export function createKeyRing(options: KeyRingOptions): KeyRing {
  const cliKeys = (options.keys ?? []).filter((k) => k !== "");
  if (cliKeys.some((key) => /\s/.test(key))) {
    throw new Error("an --api-key value must not contain whitespace");
  }
  const fixed: RingKey[] = cliKeys.map((key, i) => ({
    name: `api-key-${i + 1}`,
    digest: sha256(key),
    scopes: new Set(SCOPES),
    limits: "",
  }));
  let keys: RingKey[] = [];
  const replace = (entries: readonly KeyEntry[]) => {
    const old = new Map(keys.map((k) => [k.name, k]));
    keys = [...fixed, ...entries.map((e) => fileKey(e, old.get(e.name), options.now))];
  };
  replace(options.fileKeys ?? []);
  const byName = (name: string | undefined) => keys.find((k) => k.name === name);
  return {
    authorize(authorization, scope) {
      const key = find(keys, authorization);
      if (key === undefined) return { ok: false, reason: "unauthenticated" };
      const name = key.name;
      if (!key.scopes.has(scope)) {
        const held = [...key.scopes].join(", ");
        const message = `the API key "${name}" lacks the scope "${scope}" (it has: ${held})`;
        return { ok: false, reason: "forbidden", key: name, message };
      }
      const refused = limit(key, scope);
      if (refused === undefined) return { ok: true, key: name };
      options.onRateLimited?.(name, refused.limit);
      return { ok: false, reason: "rate_limited", key: name, ...refused };
    },
    chargeGeneratedTokens(name, tokens) {
      if (tokens > 0) byName(name)?.generated?.charge(tokens);
    },
    replaceFileKeys: replace,
  };
}

/** The key the header carries; every key is compared, so the time tells nothing. */
function find(keys: readonly RingKey[], authorization: string | null | undefined) {
  const given = BEARER.exec(authorization ?? "")?.[1];
  if (given === undefined) return undefined;
  const digest = sha256(given);
  let found: RingKey | undefined;
  for (const key of keys) if (timingSafeEqual(key.digest, digest) && !found) found = key;
  return found;
}

/** The limit that refuses this request now, with the wait; undefined when admitted. */
function limit(key: RingKey, scope: Scope) {
  const debt = scope === "infer" ? (key.generated?.waitMs() ?? 0) : 0;
  if (debt > 0) return refusal(key.name, "generated_tokens", debt);
  const wait = key.requests?.take() ?? 0;
  return wait > 0 ? refusal(key.name, "requests", wait) : undefined;
}

function refusal(name: string, limit: RateLimit, retryAfterMs: number) {
  const what = limit === "requests" ? "requests per second" : "generated tokens per second";
  const seconds = (retryAfterMs / 1000).toFixed(3);
  const message = `the API key "${name}" is over its ${what} limit; retry in ${seconds} s`;
  return { limit, retryAfterMs, message };
}

function fileKey(entry: KeyEntry, old: RingKey | undefined, now?: () => number): RingKey {
  const rps = entry.requests_per_second;
  const tps = entry.generated_tokens_per_second;
  const limits = JSON.stringify([rps, entry.burst, tps, entry.generated_tokens_burst]);
  const same = old?.limits === limits;
  const bucket = (rate: number, burst: number | undefined) =>
    createTokenBucket({
      ratePerSecond: rate,
      burst: burst ?? Math.max(1, rate),
      ...(now && { now }),
    });
  const requests = same ? old.requests : rps === undefined ? undefined : bucket(rps, entry.burst);
  const generated = same
    ? old.generated
    : tps === undefined
      ? undefined
      : bucket(tps, entry.generated_tokens_burst);
  return {
    name: entry.name,
    digest: Buffer.from(entry.sha256, "hex"),
    scopes: new Set(entry.scopes),
    limits,
    ...(requests && { requests }),
    ...(generated && { generated }),
  };
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

function sha256(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}
