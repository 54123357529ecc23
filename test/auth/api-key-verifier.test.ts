import { describe, expect, it } from "vitest";
import { createApiKeyVerifier } from "../../src/auth/api-key-verifier.js";

describe("createApiKeyVerifier", () => {
  it("is absent without keys (the server stays open); empty keys do not count", () => {
    expect(createApiKeyVerifier([])).toBeUndefined();
    expect(createApiKeyVerifier([""])).toBeUndefined();
  });

  it("refuses a key with whitespace, which no bearer header could carry", () => {
    expect(() => createApiKeyVerifier(["good", "has space"])).toThrow(
      "an --api-key value must not contain whitespace",
    );
  });

  it("accepts a bearer header carrying any configured key, and nothing else", () => {
    const verify = createApiKeyVerifier(["old-key", "new-key"]);
    if (!verify) throw new Error("expected a verifier");
    expect(verify("Bearer old-key")).toBe(true);
    expect(verify("Bearer new-key")).toBe(true);
    // The scheme is case-insensitive (RFC 9110); the key is not.
    expect(verify("bearer new-key")).toBe(true);
    expect(verify("Bearer  new-key ")).toBe(true);
    expect(verify("Bearer NEW-KEY")).toBe(false);
    expect(verify("Bearer new-key2")).toBe(false);
    expect(verify("Bearer new")).toBe(false);
    expect(verify("Basic new-key")).toBe(false);
    expect(verify("new-key")).toBe(false);
    expect(verify("Bearer ")).toBe(false);
    expect(verify("Bearer a b")).toBe(false);
    expect(verify(undefined)).toBe(false);
    expect(verify(null)).toBe(false);
  });
});
