import { describe, expect, it } from "vitest";
import { classifyOutput } from "../../src/open-inference/oip-classification.js";

describe("classifyOutput", () => {
  it("returns Triton's documented example: top-2 of [1.1, 3.3, 0.5, 2.4]", () => {
    const tensor = {
      dtype: "float32" as const,
      dims: [4],
      data: Float32Array.of(1.1, 3.3, 0.5, 2.4),
    };
    expect(classifyOutput(tensor, 2, [])).toEqual({
      dtype: "string",
      dims: [2],
      data: ["3.3:1", "2.4:3"],
    });
  });

  it("ranks per row, labels the classes, ties to the lower index, caps the count", () => {
    const tensor = {
      dtype: "float32" as const,
      dims: [2, 3],
      data: Float32Array.of(0.5, 0.5, 0, 0, 1, 2),
    };
    const out = classifyOutput(tensor, 5, ["a", "b", "c"]);
    expect(out.dims).toEqual([2, 3]);
    expect(out.data).toEqual(["0.5:0:a", "0.5:1:b", "0:2:c", "2:2:c", "1:1:b", "0:0:a"]);
  });
});
