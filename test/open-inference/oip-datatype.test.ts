import { describe, expect, it } from "vitest";
import { oipDatatypeToDType, toOipDatatype } from "../../src/open-inference/oip-datatype.js";
import { DTYPES } from "../../src/tensor/host-tensor.js";

describe("OIP datatype table", () => {
  it("maps every inferd dtype to a datatype and back", () => {
    for (const dtype of DTYPES) expect(oipDatatypeToDType("x", toOipDatatype(dtype))).toBe(dtype);
    expect(toOipDatatype("string")).toBe("BYTES");
    expect(toOipDatatype("float16")).toBe("FP16");
  });

  it("names the input for an unknown or unsupported datatype", () => {
    expect(() => oipDatatypeToDType("x", "FLOAT32")).toThrow(
      /input "x": unknown datatype "FLOAT32"; use one of BOOL, UINT8/,
    );
    expect(() => oipDatatypeToDType("x", "UINT32")).toThrow(
      /input "x": datatype UINT32 is not supported by inferd; supported: BOOL, UINT8/,
    );
  });
});
