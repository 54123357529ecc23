import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createKeyRing, type RateLimit } from "../../src/auth/key-ring.js";
import type { KeyEntry } from "../../src/auth/keys-file.js";

const hash = (key: string) => createHash("sha256").update(key).digest("hex");
const entry = (name: string, rest: Partial<KeyEntry> = {}): KeyEntry => ({
  name,
  sha256: hash(`secret-${name}`),
  scopes: ["infer"],
  ...rest,
});
const bearer = (name: string) => `Bearer secret-${name}`;

describe("createKeyRing", () => {
  it("tells unknown keys, missing scopes and admitted keys apart", () => {
    const ring = createKeyRing({
      keys: ["cli-secret"],
      fileKeys: [entry("app", { scopes: ["infer", "read"] })],
    });
    expect(ring.authorize(undefined, "infer")).toEqual({ ok: false, reason: "unauthenticated" });
    expect(ring.authorize("Bearer nope", "read")).toEqual({ ok: false, reason: "unauthenticated" });
    expect(ring.authorize(`Basic ${hash("secret-app")}`, "read").ok).toBe(false);
    expect(ring.authorize(bearer("app"), "read")).toEqual({ ok: true, key: "app" });
    expect(ring.authorize(bearer("app"), "admin")).toEqual({
      ok: false,
      reason: "forbidden",
      key: "app",
      message: 'the API key "app" lacks the scope "admin" (it has: infer, read)',
    });
    // --api-key keys hold every scope.
    expect(ring.authorize("Bearer cli-secret", "admin")).toEqual({ ok: true, key: "api-key-1" });
  });

  it("refuses requests over requests_per_second with the wait, and counts them", () => {
    let t = 0;
    const refused: [string, RateLimit][] = [];
    const ring = createKeyRing({
      fileKeys: [entry("app", { requests_per_second: 1, burst: 2 })],
      now: () => t,
      onRateLimited: (key, limit) => refused.push([key, limit]),
    });
    expect(ring.authorize(bearer("app"), "infer").ok).toBe(true);
    expect(ring.authorize(bearer("app"), "infer").ok).toBe(true);
    expect(ring.authorize(bearer("app"), "infer")).toMatchObject({
      ok: false,
      reason: "rate_limited",
      key: "app",
      limit: "requests",
      retryAfterMs: 1000,
    });
    expect(refused).toEqual([["app", "requests"]]);
    t += 1000;
    expect(ring.authorize(bearer("app"), "infer").ok).toBe(true);
  });

  it("charges generated tokens after the fact and refuses inference until the debt is paid", () => {
    let t = 0;
    const ring = createKeyRing({
      fileKeys: [entry("app", { scopes: ["infer", "read"], generated_tokens_per_second: 10 })],
      now: () => t,
    });
    ring.chargeGeneratedTokens("app", 25); // 10 - 25 = -15
    ring.chargeGeneratedTokens("someone-else", 1000);
    ring.chargeGeneratedTokens(undefined, 1000);
    expect(ring.authorize(bearer("app"), "infer")).toMatchObject({
      reason: "rate_limited",
      limit: "generated_tokens",
      retryAfterMs: 1600,
    });
    // Reading models is not inference: the token budget does not hold it back.
    expect(ring.authorize(bearer("app"), "read").ok).toBe(true);
    t += 1600;
    expect(ring.authorize(bearer("app"), "infer").ok).toBe(true);
  });

  it("replaces the file's keys, keeping the --api-key ones and unchanged keys' buckets", () => {
    const t = 0;
    const limited = entry("app", { requests_per_second: 1, burst: 1 });
    const ring = createKeyRing({ keys: ["cli-secret"], fileKeys: [limited], now: () => t });
    expect(ring.authorize(bearer("app"), "infer").ok).toBe(true);
    ring.replaceFileKeys([limited, entry("new")]);
    expect(ring.authorize(bearer("app"), "infer")).toMatchObject({ reason: "rate_limited" });
    expect(ring.authorize(bearer("new"), "infer").ok).toBe(true);
    ring.replaceFileKeys([]);
    expect(ring.authorize(bearer("new"), "infer").ok).toBe(false);
    expect(ring.authorize("Bearer cli-secret", "infer").ok).toBe(true);
  });

  it("refuses an --api-key with whitespace at start", () => {
    expect(() => createKeyRing({ keys: ["a b"] })).toThrow(/whitespace/);
  });
});
