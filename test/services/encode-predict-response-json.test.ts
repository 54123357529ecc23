import { create, toJsonString } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PredictResponseSchema } from "../../gen/inferd/v1/inference_pb.js";
import { TensorSchema } from "../../gen/inferd/v1/tensor_pb.js";
import { writePredictResponseJson } from "../../src/services/encode-predict-response-json.js";
import { randomPredictResponse } from "./predict-response-samples.js";

const TEXTS = ["", "logits", "é", "模型", '"q\\', "\n\u0001", "\ud800", "0", "7", "__proto__"];
const FLOATS = [0, -0, 0.1, -1e-45, Number.NaN, Number.NEGATIVE_INFINITY, 3.4e38, 1e39, 1e300];
const INTS = [0, -0, 1, 127, 2 ** 31 - 1, -1, 2 ** 32, 1.5, Number.NaN, 99];

function outcome(write: () => string): { text: string } | { error: string } {
  try {
    return { text: write() };
  } catch (error) {
    return { error: String(error) };
  }
}

const POOLS = { texts: TEXTS, ints: INTS, floats: FLOATS, rareOneIn: 6, maxFloats: 20 };
const randomResponse = (seed: number) => randomPredictResponse(seed, POOLS);

describe("writePredictResponseJson", () => {
  it("writes a one-row answer as toJsonString does", () => {
    const message = create(PredictResponseSchema, {
      model: "mlp_small",
      version: 1,
      requestId: "r-1",
      outputs: { y: { dtype: 1, shape: [1, 2], floatData: [Math.fround(0.1), 2] } },
    });
    expect(writePredictResponseJson(message)).toBe(
      '{"model":"mlp_small","version":1,"outputs":{"y":{"dtype":"DATA_TYPE_FLOAT32","shape":[1,2],"floatData":[0.10000000149011612,2]}},"requestId":"r-1"}',
    );
  });

  it("writes the text toJsonString writes, or leaves it: 5,000 seeded random responses", () => {
    let fast = 0;
    for (let seed = 1; seed <= 5000; seed++) {
      // Unchecked values (a version of 2^32, a dim of 1.5, NaN) reach the writers as-is.
      const message = create(PredictResponseSchema);
      Object.assign(message, create(PredictResponseSchema, randomResponse(seed)));
      const expected = outcome(() => toJsonString(PredictResponseSchema, message));
      const text = writePredictResponseJson(message);
      if (text === undefined) continue;
      fast++;
      expect({ text }, `seed ${seed}`).toEqual(expected);
    }
    // Both paths must be exercised: a fuzz that always falls back proves nothing.
    expect(fast).toBeGreaterThan(500);
    expect(fast).toBeLessThan(4500);
  });

  it("leaves values it does not write to protobuf-es", () => {
    const message = create(PredictResponseSchema, { outputs: { y: { floatData: [Number.NaN] } } });
    expect(writePredictResponseJson(message)).toBeUndefined();
    message.outputs = { y: create(TensorSchema, { rawData: Uint8Array.of(1) }) };
    expect(writePredictResponseJson(message)).toBeUndefined();
  });
});
