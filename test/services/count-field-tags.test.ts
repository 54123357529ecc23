import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { BatchPredictRequestSchema } from "../../gen/inferd/v1/inference_pb.js";
import { DataType } from "../../gen/inferd/v1/tensor_pb.js";
import { countFieldTags } from "../../src/services/count-field-tags.js";

function batch(items: number): Uint8Array {
  const features = { dtype: DataType.FLOAT32, shape: [1, 4], floatData: [5.1, 3.5, 1.4, 0.2] };
  const requests = Array.from({ length: items }, (_, i) => ({
    model: "iris",
    version: i,
    inputs: { features },
  }));
  return toBinary(BatchPredictRequestSchema, create(BatchPredictRequestSchema, { requests }));
}

describe("countFieldTags", () => {
  it("counts a repeated message field's items at the top level only", () => {
    // Each item holds nested fields numbered 1 too (model), which must not count.
    expect(countFieldTags(batch(0), 1)).toBe(0);
    expect(countFieldTags(batch(1), 1)).toBe(1);
    expect(countFieldTags(batch(300), 1)).toBe(300);
    expect(countFieldTags(batch(300), 2)).toBe(0);
  });

  it("skips varint, fixed64, fixed32 and length-delimited values of other fields", () => {
    // field 2 varint 300, field 3 fixed64, field 1 bytes "ab", field 4 fixed32, field 1 empty
    const bytes = Uint8Array.from([
      0x10, 0xac, 0x02, 0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 2, 0x61, 0x62, 0x25, 1, 2, 3, 4, 0x0a,
      0,
    ]);
    expect(countFieldTags(bytes, 1)).toBe(2);
    expect(countFieldTags(bytes, 2)).toBe(1);
  });

  it("answers undefined for bytes that are not a well-formed message", () => {
    const whole = batch(3);
    expect(countFieldTags(whole.subarray(0, whole.length - 1), 1)).toBeUndefined();
    expect(countFieldTags(Uint8Array.from([0x0a]), 1)).toBeUndefined(); // no length
    expect(countFieldTags(Uint8Array.from([0x0b, 0x0c]), 1)).toBeUndefined(); // a group
    expect(countFieldTags(Uint8Array.from([0x0a, 0x80, 0x80]), 1)).toBeUndefined();
  });
});
