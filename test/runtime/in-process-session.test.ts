import { describe, expect, it } from "vitest";
import { toOrtSessionOptions, toTensorSpec } from "../../src/runtime/in-process-session.js";

describe("toOrtSessionOptions", () => {
  it("renames our options to ORT's and leaves unset ones out", () => {
    expect(
      toOrtSessionOptions({
        intraOpThreads: 2,
        interOpThreads: 1,
        graphOptimizationLevel: "basic",
      }),
    ).toEqual({ intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: "basic" });
    expect(toOrtSessionOptions({})).toEqual({});
  });

  it("puts spinning and prepacking in ORT's session config entries, together", () => {
    const spinOff = { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } };
    expect(toOrtSessionOptions({ prepackWeights: false })).toEqual({
      extra: { session: { disable_prepacking: "1" } },
    });
    expect(toOrtSessionOptions({ allowSpinning: false, prepackWeights: false })).toEqual({
      extra: { session: { ...spinOff, disable_prepacking: "1" } },
    });
    expect(toOrtSessionOptions({ allowSpinning: false, prepackWeights: true })).toEqual({
      extra: { session: spinOff },
    });
  });
});

describe("toTensorSpec", () => {
  it("turns symbolic and unknown dims into -1 and keeps the symbol", () => {
    const spec = toTensorSpec(
      { name: "x", isTensor: true, type: "float16", shape: ["batch", -1, 3] },
      "input",
    );
    expect(spec).toEqual({
      name: "x",
      dtype: "float16",
      dims: [-1, -1, 3],
      dimNames: ["batch", "", ""],
    });
  });

  it("refuses element types and values inferd cannot carry, naming the tensor", () => {
    expect(() =>
      toTensorSpec({ name: "ids", isTensor: true, type: "uint32", shape: [2] }, "output"),
    ).toThrow(/output "ids" has element type "uint32"/);
    expect(() => toTensorSpec({ name: "seq", isTensor: false }, "input")).toThrow(
      /input "seq" is not a tensor/,
    );
  });
});
