import { describe, expect, it } from "vitest";
import { toFloat16Array } from "../../src/tensor/float16.js";
import { materializeValues } from "../../src/tensor/materialize-values.js";

const VALUES = [0.5, -1.25, 3, 1e-3];

describe("materializeValues, float_data read as a Float32Array", () => {
  it("takes a view into a bigger buffer (the request's bytes) as it is", () => {
    const bytes = new ArrayBuffer(4 + 4 * VALUES.length);
    const view = new Float32Array(bytes, 4, VALUES.length);
    view.set(VALUES);
    expect(materializeValues("x", "float32", { kind: "float", data: view }, 4)).toBe(view);
  });

  it("copies an array that spans its whole buffer, which a worker run could take away", () => {
    const own = Float32Array.from(VALUES);
    const data = materializeValues("x", "float32", { kind: "float", data: own }, 4);
    expect(data).not.toBe(own);
    expect(data).toEqual(own);
  });

  it("converts to float16 and checks the count as for a number[]", () => {
    const floats = Float32Array.from(VALUES);
    expect(materializeValues("x", "float16", { kind: "float", data: floats }, 4)).toEqual(
      toFloat16Array(VALUES),
    );
    expect(() => materializeValues("x", "float32", { kind: "float", data: floats }, 5)).toThrow(
      'input "x": the shape needs 5 values but float_data has 4',
    );
  });
});
