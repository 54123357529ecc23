import { describe, expect, it } from "vitest";
import {
  forwardedForHeader,
  requestIdHeader,
  singleHeader,
} from "../../src/connect-adapter/incoming-headers.js";

describe("incoming headers", () => {
  it("singleHeader takes a header's only or first value", () => {
    expect(singleHeader("a")).toBe("a");
    expect(singleHeader(["a", "b"])).toBe("a");
    expect(singleHeader([])).toBeUndefined();
    expect(singleHeader(undefined)).toBeUndefined();
  });

  it("forwardedForHeader reads x-forwarded-for's first value", () => {
    expect(forwardedForHeader({ "x-forwarded-for": "10.0.0.1, 10.0.0.2" })).toBe(
      "10.0.0.1, 10.0.0.2",
    );
    expect(forwardedForHeader({})).toBeUndefined();
  });

  it("requestIdHeader keeps an x-request-id sent once, not a repeated one", () => {
    expect(requestIdHeader({ "x-request-id": "r1" })).toBe("r1");
    expect(requestIdHeader({ "x-request-id": ["r1", "r2"] })).toBeUndefined();
    expect(requestIdHeader({})).toBeUndefined();
  });
});
