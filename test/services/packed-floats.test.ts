import { create, toBinary, toJson } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { type Tensor, TensorSchema } from "../../gen/inferd/v1/tensor_pb.js";
import { emptyTensor } from "../../src/services/decode-predict-request.js";
import { floatDataOf, withPackedFloats } from "../../src/services/packed-floats.js";

const FLOATS = Float32Array.of(0.1, -2.5, 3e38, -0);
const AS_NUMBERS = [...FLOATS];

function packed(): Tensor {
  const t = emptyTensor();
  t.shape = [1, 4];
  return withPackedFloats(t, FLOATS);
}

describe("withPackedFloats and floatDataOf", () => {
  it("hands the typed array itself to floatDataOf while floatData is untouched", () => {
    expect(floatDataOf(packed())).toBe(FLOATS);
  });

  it("shows every other reader the float32 values as a number[]", () => {
    const expected = create(TensorSchema, { shape: [1, 4], floatData: AS_NUMBERS });
    expect(toBinary(TensorSchema, packed())).toEqual(toBinary(TensorSchema, expected));
    expect(toJson(TensorSchema, packed())).toEqual(toJson(TensorSchema, expected));
    expect({ ...packed() }.floatData).toEqual(AS_NUMBERS);
    expect(structuredClone(packed()).floatData).toEqual(AS_NUMBERS);
    expect(Object.keys(packed())).toEqual(Object.keys(expected));
  });

  it("forgets the typed array once floatData is read or written, so both always agree", () => {
    const read = packed();
    read.floatData.push(7);
    expect(floatDataOf(read)).toEqual([...AS_NUMBERS, 7]);
    const written = packed();
    written.floatData = [1];
    expect(floatDataOf(written)).toEqual([1]);
    expect(written.floatData).toEqual([1]);
  });
});
