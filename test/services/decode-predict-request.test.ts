import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import {
  BatchPredictRequestSchema,
  PredictRequestSchema,
} from "../../gen/inferd/v1/inference_pb.js";
import { DataType, TensorSchema } from "../../gen/inferd/v1/tensor_pb.js";
import {
  decodePredictRequest,
  decodeRequestBinary,
  readPredictRequestFast,
} from "../../src/services/decode-predict-request.js";
import { floatDataOf } from "../../src/services/packed-floats.js";
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

/** 300 float32 values, the awkward ones included (-0, subnormal, infinities, NaN). */
const WIDE = Float32Array.from({ length: 300 }, (_, i) => (i - 150) / 7);
WIDE.set([-0, 1e-45, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN], 0);
const wideRequest = create(PredictRequestSchema, {
  model: "mlp_heavy",
  inputs: { x: { dtype: DataType.FLOAT32, shape: [1, 300], floatData: [...WIDE] } },
});
const bytesOf = (a: Float32Array) => [...new Uint8Array(a.buffer, a.byteOffset, a.byteLength)];

describe("decodePredictRequest, a packed run of 256 floats or more", () => {
  it("reads it as a Float32Array holding the exact float32 bits, at every byte offset", () => {
    const bytes = toBinary(PredictRequestSchema, wideRequest);
    for (let offset = 0; offset < 8; offset++) {
      const x = readPredictRequestFast(inPool(bytes, offset))?.inputs.x;
      if (x === undefined) throw new Error(`offset ${offset}: not read`);
      const floats = floatDataOf(x);
      expect(floats).toBeInstanceOf(Float32Array);
      expect(bytesOf(floats as Float32Array)).toEqual(bytesOf(WIDE));
    }
  });

  it("still gives every reader of floatData the message protobuf-es decodes", () => {
    const bytes = inPool(toBinary(PredictRequestSchema, wideRequest), 3);
    const message = readPredictRequestFast(bytes);
    expect(message).toStrictEqual(fromBinary(PredictRequestSchema, bytes));
    expect(toBinary(PredictRequestSchema, message ?? wideRequest)).toEqual(
      toBinary(PredictRequestSchema, wideRequest),
    );
    // Once read, floatData is the one source: a plain number[].
    const x = message?.inputs.x;
    expect(x && floatDataOf(x)).toBe(x?.floatData);
  });

  it("takes a write to floatData as the new values", () => {
    const x = readPredictRequestFast(toBinary(PredictRequestSchema, wideRequest))?.inputs.x;
    if (x === undefined) throw new Error("not read");
    x.floatData = [1, 2];
    expect(floatDataOf(x)).toEqual([1, 2]);
    expect(x.floatData).toEqual([1, 2]);
  });

  it("keeps a shorter run a number[], and leaves a run in two parts to protobuf-es", () => {
    const short = create(PredictRequestSchema, {
      inputs: { x: { floatData: [...WIDE.slice(0, 255)] } },
    });
    const x = readPredictRequestFast(toBinary(PredictRequestSchema, short))?.inputs.x;
    expect(x && Array.isArray(floatDataOf(x))).toBe(true);
    // A tensor holding its float_data twice: protobuf-es appends the second run.
    const tensor = toBinary(TensorSchema, create(TensorSchema, { floatData: [...WIDE] }));
    const twice = new BinaryWriter()
      .tag(3, WireType.LengthDelimited)
      .fork()
      .tag(1, WireType.LengthDelimited)
      .string("x")
      .tag(2, WireType.LengthDelimited)
      .bytes(Buffer.concat([tensor, tensor]))
      .join()
      .finish();
    expect(readPredictRequestFast(twice)).toBeUndefined();
    expect(decodePredictRequest(twice).inputs.x?.floatData).toHaveLength(600);
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
