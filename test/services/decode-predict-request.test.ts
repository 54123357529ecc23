import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  BatchPredictRequestSchema,
  PredictRequestSchema,
} from "../../gen/inferd/v1/inference_pb.js";
import { DataType } from "../../gen/inferd/v1/tensor_pb.js";
import {
  decodePredictRequest,
  decodeRequestBinary,
  readPredictRequestFast,
} from "../../src/services/decode-predict-request.js";
import { outcomeOf } from "./codec-outcome.js";
import { createSampleSource } from "./predict-request-samples.js";

const outcome = outcomeOf;

/** `bytes` as a Buffer at an odd offset of a bigger one, as a request body can be. */
function inPool(bytes: Uint8Array, offset: number): Buffer {
  const pool = Buffer.alloc(bytes.length + 8, 0xee);
  pool.set(bytes, offset);
  return pool.subarray(offset, offset + bytes.length);
}

/** Decodes with both; returns whether the hand-written reader took it. */
function expectSameAsProtobufEs(bytes: Buffer): boolean {
  const expected = outcome(() => fromBinary(PredictRequestSchema, bytes));
  expect(outcome(() => decodePredictRequest(bytes))).toStrictEqual(expected);
  const fast = readPredictRequestFast(bytes);
  if (fast !== undefined) expect({ value: fast }).toStrictEqual(expected);
  return fast !== undefined;
}

const oneRow = create(PredictRequestSchema, {
  model: "mlp_small",
  requestId: "r-1",
  inputs: { x: { dtype: DataType.FLOAT32, shape: [1, 4], floatData: [5.1, 3.5, 1.4, 0.2] } },
});

describe("decodePredictRequest", () => {
  it("reads a one-row request itself, floats as float32 values", () => {
    const message = readPredictRequestFast(inPool(toBinary(PredictRequestSchema, oneRow), 1));
    expect(message?.inputs.x?.floatData).toEqual([...Float32Array.of(5.1, 3.5, 1.4, 0.2)]);
    expect(message?.model).toBe("mlp_small");
  });

  it("leaves unknown fields to protobuf-es, which keeps them", () => {
    const bytes = Buffer.concat([toBinary(PredictRequestSchema, oneRow), Buffer.from([0x48, 7])]);
    expect(readPredictRequestFast(bytes)).toBeUndefined();
    const unknown = decodePredictRequest(bytes).$unknown;
    expect(unknown?.map(({ no, wireType, data }) => [no, wireType, [...data]])).toEqual([
      [9, 0, [7]],
    ]);
  });

  it("refuses truncated bytes with protobuf-es's own error", () => {
    const bytes = toBinary(PredictRequestSchema, oneRow).subarray(0, 20);
    expect(() => decodePredictRequest(bytes)).toThrow("premature EOF");
  });

  it("decodes as fromBinary does: thousands of seeded random, crafted and mutated encodings", () => {
    const source = createSampleSource(20261207);
    let fast = 0;
    let total = 0;
    const check = (bytes: Uint8Array) => {
      total++;
      if (expectSameAsProtobufEs(inPool(bytes, source.rand.int(8)))) fast++;
    };
    for (let i = 0; i < 2500; i++) {
      const encoded = source.encoded();
      const crafted = source.crafted();
      check(encoded);
      check(crafted);
      check(source.mutated(encoded));
      check(source.mutated(crafted));
    }
    // Both paths must be exercised: a fuzz that always falls back proves nothing.
    expect(fast).toBeGreaterThan(total / 10);
    expect(total - fast).toBeGreaterThan(total / 2);
  });
});

describe("decodeRequestBinary", () => {
  it("decodes other messages with fromBinary", () => {
    const batch = create(BatchPredictRequestSchema, { requests: [oneRow] });
    const bytes = toBinary(BatchPredictRequestSchema, batch);
    expect(decodeRequestBinary(BatchPredictRequestSchema, bytes)).toStrictEqual(
      fromBinary(BatchPredictRequestSchema, bytes),
    );
  });
});
