import { describe, expect, it } from "vitest";
import { InferdError, invalidArgument, notFound } from "../../src/errors/inferd-error.js";
import { inOipTerms } from "../../src/open-inference/oip-error-terms.js";
import { validateInputs } from "../../src/tensor/validate-input.js";

const spec = {
  name: "features",
  dtype: "float32",
  dims: [-1, 4],
  dimNames: ["batch", ""],
} as const;

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

describe("inOipTerms", () => {
  it("rewords validation's datatype mismatch with the protocol's datatypes", () => {
    const input = {
      dtype: "int32" as const,
      dims: [1, 4],
      values: { kind: "int" as const, data: [1, 2, 3, 4] },
    };
    const error = thrown(() => validateInputs([spec], { features: input }));
    expect(error).toMatchObject({
      message: 'input "features": dtype int32 does not match the model\'s float32',
      detail: { reason: "dtype_mismatch", input: "features", dtype: "int32", expected: "float32" },
    });
    const worded = inOipTerms(error);
    expect(worded).toBeInstanceOf(InferdError);
    expect(worded).toMatchObject({
      kind: "invalid_argument",
      message: 'input "features": datatype INT32 does not match the model\'s FP32',
    });
  });

  it("passes every other error through unchanged", () => {
    for (const error of [notFound("no such model"), invalidArgument("bad"), new Error("boom")]) {
      expect(inOipTerms(error)).toBe(error);
    }
  });
});
