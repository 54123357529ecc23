import { describe, expect, it } from "vitest";
import { MODEL_ROUTE, parseOipPath } from "../../../src/http/open-inference/oip-path.js";

describe("parseOipPath", () => {
  it("collapses model paths with and without a version to one pattern", () => {
    expect(parseOipPath("/v2/models/a%2Fb/ready")).toEqual({
      route: `${MODEL_ROUTE}/ready`,
      model: "a/b",
      version: undefined,
    });
    expect(parseOipPath("/v2/models/m/versions/3/generate_stream")).toEqual({
      route: `${MODEL_ROUTE}/generate_stream`,
      model: "m",
      version: "3",
    });
    expect(parseOipPath("/v2/models/m")).toEqual({
      route: MODEL_ROUTE,
      model: "m",
      version: undefined,
    });
  });

  it("reads repository model paths, keeps other paths literal and malformed escapes raw", () => {
    expect(parseOipPath("/v2/repository/models/m/unload")).toEqual({
      route: "/v2/repository/models/{model}/unload",
      model: "m",
      version: undefined,
    });
    expect(parseOipPath("/v2/repository/index/")).toEqual({
      route: "/v2/repository/index",
      model: "",
      version: undefined,
    });
    expect(parseOipPath("/v2/models/%E0/ready").model).toBe("%E0");
  });
});
