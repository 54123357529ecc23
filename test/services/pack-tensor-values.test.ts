import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  BatchPredictRequestSchema,
  PredictRequestSchema,
} from "../../gen/inferd/v1/inference_pb.js";
import { DataType } from "../../gen/inferd/v1/tensor_pb.js";
import { packTensorValues } from "../../src/services/pack-tensor-values.js";
import { decodeTensor } from "../../src/services/tensor-codec.js";
import { materializeValues } from "../../src/tensor/materialize-values.js";

const N = 2048;
const floats = Array.from({ length: N }, (_, i) => i * 0.1);

function predict(tensor: Parameters<typeof create<typeof PredictRequestSchema>>[1]) {
  return create(PredictRequestSchema, tensor);
}

describe("packTensorValues", () => {
  it("moves a big tensor's own typed values into raw_data, with the same materialized values", () => {
    const before = predict({
      inputs: { x: { dtype: DataType.FLOAT32, shape: [N / 4, 4], floatData: floats } },
    });
    const packed = predict({
      inputs: { x: { dtype: DataType.FLOAT32, shape: [N / 4, 4], floatData: floats } },
    });
    const buffers = packTensorValues(packed);
    const x = packed.inputs.x;
    expect(buffers).toHaveLength(1);
    expect(x?.floatData).toEqual([]);
    expect(x?.rawData.buffer).toBe(buffers[0]);
    const values = (t: typeof x) => {
      const input = decodeTensor("x", t as NonNullable<typeof x>);
      return materializeValues("x", "float32", input.values as NonNullable<typeof input.values>, N);
    };
    expect(values(x)).toEqual(values(before.inputs.x));
  });

  it("packs each item of a BatchPredict, and int32, int64 and double tensors", () => {
    const ints = floats.map((_, i) => i - 1000);
    const message = create(BatchPredictRequestSchema, {
      requests: [
        { inputs: { a: { dtype: DataType.INT32, shape: [N], intData: ints } } },
        { inputs: { b: { dtype: DataType.INT64, shape: [N], int64Data: ints.map(BigInt) } } },
        { inputs: { c: { dtype: DataType.FLOAT64, shape: [N], doubleData: floats } } },
      ],
    });
    expect(packTensorValues(message)).toHaveLength(3);
    const [a, b, c] = message.requests.map((r) => Object.values(r.inputs)[0]?.rawData);
    expect(Array.from(new Int32Array(a?.buffer as ArrayBuffer))).toEqual(ints);
    expect(Array.from(new BigInt64Array(b?.buffer as ArrayBuffer))).toEqual(ints.map(BigInt));
    expect(Array.from(new Float64Array(c?.buffer as ArrayBuffer))).toEqual(floats);
  });

  it("leaves alone what raw_data would answer differently: small, miscounted, foreign or mixed", () => {
    const tensors = {
      small: { dtype: DataType.FLOAT32, shape: [4], floatData: [1, 2, 3, 4] },
      miscounted: { dtype: DataType.FLOAT32, shape: [N + 1], floatData: floats },
      negative: { dtype: DataType.FLOAT32, shape: [-1, -N], floatData: floats },
      foreign: { dtype: DataType.FLOAT16, shape: [N], floatData: floats },
      narrow: { dtype: DataType.INT8, shape: [N], intData: floats.map(() => 1) },
      mixed: { dtype: DataType.FLOAT32, shape: [N], floatData: floats, doubleData: [1] },
    };
    const message = predict({ inputs: tensors });
    expect(packTensorValues(message)).toEqual([]);
    for (const tensor of Object.values(message.inputs)) expect(tensor.rawData).toHaveLength(0);
    expect(message.inputs.miscounted?.floatData).toHaveLength(N);
  });
});
