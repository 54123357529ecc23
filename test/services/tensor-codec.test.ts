import { create, equals, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { DataType, TensorSchema } from "../../gen/inferd/v1/tensor_pb.js";
import {
  dataTypeToDType,
  decodeTensor,
  dtypeToDataType,
  encodeTensor,
  encodeTensorInfo,
} from "../../src/services/tensor-codec.js";
import { DTYPES, type HostTensor } from "../../src/tensor/host-tensor.js";

describe("tensor codec", () => {
  it("builds each output message exactly as create(TensorSchema) would", () => {
    const tensors: HostTensor[] = [
      { dtype: "float32", dims: [1, 3], data: Float32Array.from([0.5, -1, 2]) },
      { dtype: "int64", dims: [2], data: BigInt64Array.from([1n, -2n]) },
      { dtype: "string", dims: [1], data: ["hi"] },
      { dtype: "bool", dims: [2], data: Uint8Array.from([1, 0]) },
    ];
    for (const tensor of tensors) {
      for (const raw of [false, true]) {
        const encoded = encodeTensor(tensor, raw);
        // Only the values: given a message, create() would hand that message back.
        const { $typeName: _, ...values } = encoded;
        const expected = create(TensorSchema, values);
        expect(expected).not.toBe(encoded);
        expect(encoded).toStrictEqual(expected);
        expect(equals(TensorSchema, encoded, expected)).toBe(true);
        expect(toBinary(TensorSchema, encoded)).toEqual(toBinary(TensorSchema, expected));
      }
    }
  });

  it("maps every DType to a DataType and back", () => {
    for (const dtype of DTYPES) expect(dataTypeToDType(dtypeToDataType(dtype))).toBe(dtype);
    expect(dtypeToDataType("int64")).toBe(DataType.INT64);
    expect(dataTypeToDType(DataType.UNSPECIFIED)).toBeUndefined();
  });

  it("decodes the set field, dtype and every set field name", () => {
    const input = decodeTensor(
      "x",
      create(TensorSchema, { shape: [2], intData: [1, 2], floatData: [3, 4] }),
    );
    expect(input.dtype).toBeUndefined();
    expect(input.dims).toEqual([2]);
    expect(input.values).toEqual({ kind: "float", data: [3, 4] });
    expect(input.setFields).toEqual(["float_data", "int_data"]);
    const typed = decodeTensor(
      "x",
      create(TensorSchema, { dtype: DataType.INT64, shape: [1], int64Data: [5n] }),
    );
    expect(typed).toEqual({ dtype: "int64", dims: [1], values: { kind: "int64", data: [5n] } });
  });

  it("rejects an unknown dtype number naming the input", () => {
    expect(() => decodeTensor("ids", create(TensorSchema, { dtype: 42 as DataType }))).toThrow(
      /"ids".*42/,
    );
  });

  it("encodes typed fields: int64 as bigint, float16 as numbers, bool as booleans", () => {
    expect(
      encodeTensor({ dtype: "int64", dims: [2], data: BigInt64Array.from([1n, -2n]) }).int64Data,
    ).toEqual([1n, -2n]);
    expect(
      encodeTensor({ dtype: "float16", dims: [2], data: Uint16Array.from([0x3c00, 0xc000]) })
        .floatData,
    ).toEqual([1, -2]);
    expect(
      encodeTensor({ dtype: "bool", dims: [2], data: Uint8Array.from([1, 0]) }).boolData,
    ).toEqual([true, false]);
    expect(
      encodeTensor({ dtype: "int8", dims: [2], data: Int8Array.from([-5, 7]) }).intData,
    ).toEqual([-5, 7]);
  });

  it("encodes raw little-endian bytes, but strings always as string_data", () => {
    const raw = encodeTensor({ dtype: "int16", dims: [2], data: Int16Array.from([1, -2]) }, true);
    expect(Array.from(raw.rawData)).toEqual([0x01, 0x00, 0xfe, 0xff]);
    expect(raw.dtype).toBe(DataType.INT16);
    const half = encodeTensor(
      { dtype: "float16", dims: [1], data: Uint16Array.from([0x3c00]) },
      true,
    );
    expect(Array.from(half.rawData)).toEqual([0x00, 0x3c]);
    const text = encodeTensor({ dtype: "string", dims: [1], data: ["hi"] }, true);
    expect(text.stringData).toEqual(["hi"]);
    expect(text.rawData).toHaveLength(0);
  });

  it("encodes a spec as TensorInfo with -1 dims and names", () => {
    const info = encodeTensorInfo({
      name: "x",
      dtype: "float32",
      dims: [-1, 4],
      dimNames: ["batch", ""],
    });
    expect([info.name, info.dtype, info.shape, info.dimNames]).toEqual([
      "x",
      DataType.FLOAT32,
      [-1, 4],
      ["batch", ""],
    ]);
  });
});
