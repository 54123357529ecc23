import { describe, expect, it } from "vitest";
import { isInferdError } from "../../src/errors/inferd-error.js";
import { toTensorInputs } from "../../src/open-inference/oip-input.js";
import type { OipInput } from "../../src/open-inference/oip-tensor.js";

function failure(inputs: OipInput[]): string {
  try {
    toTensorInputs(inputs);
  } catch (error) {
    if (isInferdError(error) && error.kind === "invalid_argument") return error.message;
    throw error;
  }
  throw new Error("expected invalid_argument");
}

const x = (init: Partial<OipInput> = {}): OipInput => ({
  name: "x",
  datatype: "FP32",
  shape: [1, 2],
  contents: { fp32: [1, 2] },
  ...init,
});

describe("toTensorInputs", () => {
  it("maps typed contents onto inferd's tensor values", () => {
    const decoded = toTensorInputs([
      x(),
      { name: "k", datatype: "INT64", shape: [1], contents: { int64: [3n] } },
      { name: "s", datatype: "BYTES", shape: [1], contents: { bytes: [Buffer.from("hi")] } },
    ]);
    expect(decoded.x).toEqual({
      dtype: "float32",
      dims: [1, 2],
      values: { kind: "float", data: [1, 2] },
    });
    expect(decoded.k?.values).toEqual({ kind: "int64", data: [3n] });
    expect(decoded.s?.values).toEqual({ kind: "string", data: ["hi"] });
  });

  it("maps raw contents, BYTES length-prefixed", () => {
    const raw = new Uint8Array(Float32Array.of(1, 2).buffer);
    const bytes = Uint8Array.of(1, 0, 0, 0, 65);
    const decoded = toTensorInputs([
      x({ contents: {}, raw }),
      { name: "s", datatype: "BYTES", shape: [1], raw: bytes },
    ]);
    expect(decoded.x?.values).toEqual({ kind: "raw", bytes: raw });
    expect(decoded.s?.values).toEqual({ kind: "string", data: ["A"] });
  });

  it("refuses each malformed input with an actionable message", () => {
    expect(failure([x({ datatype: "F32" })])).toMatch(/unknown datatype "F32"/);
    expect(failure([x({ contents: { int: [1, 2] } })])).toBe(
      'input "x": datatype FP32 takes fp32_contents, but int_contents is set',
    );
    expect(failure([x({ shape: [1, 3] })])).toBe(
      'input "x": the shape [1, 3] needs 3 values but fp32_contents has 2',
    );
    expect(failure([x({ shape: [1, -1] })])).toMatch(
      /dimension 1 is -1; dimensions must be integers >= 0/,
    );
    expect(failure([x({ datatype: "FP16", contents: { fp32: [1, 2] } })])).toMatch(
      /datatype FP16 has no typed contents field; send it as raw contents/,
    );
    expect(failure([x({ contents: {}, raw: new Uint8Array(7) })])).toBe(
      'input "x": the shape needs 8 raw bytes (2 x 4) but the raw contents hold 7',
    );
  });

  it("refuses raw beside typed inputs: when any uses raw, all must", () => {
    const raw = new Uint8Array(8);
    expect(failure([x({ name: "a", contents: {}, raw }), x({ name: "b" })])).toMatch(
      /input "b" uses typed contents .* when any input uses raw_input_contents, all must/,
    );
    expect(failure([x({ raw })])).toMatch(/input "x" uses typed contents/);
  });

  it("lets each input choose raw or typed with rawPerInput (REST's binary extension)", () => {
    const raw = new Uint8Array(Float32Array.of(3, 4).buffer);
    const decoded = toTensorInputs([x({ name: "a", contents: {}, raw }), x({ name: "b" })], true);
    expect(decoded.a?.values).toEqual({ kind: "raw", bytes: raw });
    expect(decoded.b?.values).toEqual({ kind: "float", data: [1, 2] });
  });
});
