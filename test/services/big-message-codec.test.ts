import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createMethodSerializationLookup } from "@connectrpc/connect/protocol";
import { afterAll, describe, expect, it } from "vitest";
import {
  BatchPredictRequestSchema,
  InferenceService,
  type PredictRequest,
  PredictRequestSchema,
} from "../../gen/inferd/v1/inference_pb.js";
import { DataType } from "../../gen/inferd/v1/tensor_pb.js";
import { topKLabels } from "../../src/inference/classify.js";
import type { PredictResult } from "../../src/inference/predictor.js";
import { createBigMessageCodec } from "../../src/services/big-message-codec.js";
import { answerPredict } from "../../src/services/deferred-answer.js";
import { toPredictResponse } from "../../src/services/predict-response.js";
import type { HostTensor } from "../../src/tensor/host-tensor.js";

const PREDICT = "/inferd.v1.InferenceService/Predict";
const BATCH = "/inferd.v1.InferenceService/BatchPredict";
const codec = createBigMessageCodec({ maxBatchPredictItems: 4, thresholdBytes: 1024 });
afterAll(() => codec.close());

const rows = 1000;
const json = new TextEncoder().encode(
  JSON.stringify({
    model: "iris",
    requestId: "big",
    inputs: {
      features: {
        dtype: "DATA_TYPE_FLOAT32",
        shape: [rows, 4],
        floatData: Array.from({ length: rows * 4 }, (_, i) => (i % 7) / 2),
      },
    },
  }),
);

function batch(items: number): Uint8Array {
  const requests = Array.from({ length: items }, () => ({ model: "iris" }));
  return toBinary(BatchPredictRequestSchema, create(BatchPredictRequestSchema, { requests }));
}

async function refusal(promise: Promise<unknown> | undefined): Promise<ConnectError> {
  const error = await promise?.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

describe("createBigMessageCodec", () => {
  it("leaves a body under the threshold to the caller", () => {
    expect(codec.decode(PREDICT, new Uint8Array(10), true)).toBeUndefined();
    expect(codec.decode(BATCH, batch(4), true)).toBeUndefined();
  });

  it("leaves a big body of a method outside the Predict family to the caller", () => {
    expect(codec.decode("/inferd.v1.ModelService/LoadModel", json, false)).toBeUndefined();
  });

  it("decodes a big JSON Predict in the worker, its floats packed into raw_data", async () => {
    const message = (await codec.decode(PREDICT, json.slice(), false)) as PredictRequest;
    expect(message.$typeName).toBe("inferd.v1.PredictRequest");
    expect(message.model).toBe("iris");
    expect(message.requestId).toBe("big");
    const features = message.inputs.features;
    expect(features?.shape).toEqual([rows, 4]);
    expect(features?.floatData).toEqual([]);
    const floats = new Float32Array(features?.rawData.slice().buffer as ArrayBuffer);
    expect(floats[3]).toBe(1.5);
    expect(floats.length).toBe(rows * 4);
  });

  // A structured clone of a 16 MiB body cost the event loop 10-80 ms; a transfer nothing.
  it("takes a body that owns its buffer by transfer, and copies a view into a larger one", async () => {
    const owned = json.slice();
    const decoding = codec.decode(PREDICT, owned, false);
    expect(owned.byteLength).toBe(0);
    expect(((await decoding) as PredictRequest).requestId).toBe("big");
    const framed = new Uint8Array(json.byteLength + 5);
    framed.set(json, 5);
    const view = framed.subarray(5);
    expect(((await codec.decode(PREDICT, view, false)) as PredictRequest).requestId).toBe("big");
    expect(view).toEqual(json);
  });

  it("decodes a big binary Predict as fromBinary would", async () => {
    const request = create(PredictRequestSchema, { model: "m", outputs: ["x".repeat(2000)] });
    const bytes = toBinary(PredictRequestSchema, request);
    const expected = fromBinary(PredictRequestSchema, bytes);
    expect(await codec.decode(PREDICT, bytes, true)).toEqual(expected);
  });

  it("refuses a binary BatchPredict over the item limit from the wire, whatever its size", async () => {
    const error = await refusal(codec.decode(BATCH, batch(5), true));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toMatch(
      /^BatchPredict carries 5 items, more than this server's limit of 4 \(--max-batch-predict-items\)/,
    );
  });

  it("refuses a big JSON BatchPredict over the limit in the worker, with the same message", async () => {
    const requests = Array.from({ length: 300 }, () => ({ model: "iris-model-name" }));
    const body = new TextEncoder().encode(JSON.stringify({ requests }));
    const error = await refusal(codec.decode(BATCH, body, false));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toMatch(/^BatchPredict carries 300 items/);
  });

  it("answers undecodable big bodies InvalidArgument, as the inline decode does", async () => {
    const truncated = await refusal(codec.decode(PREDICT, json.subarray(0, 2000), false));
    expect(truncated.code).toBe(Code.InvalidArgument);
    const garbage = await refusal(codec.decode(PREDICT, new Uint8Array(4096).fill(0xff), true));
    expect(garbage.code).toBe(Code.InvalidArgument);
    expect(garbage.rawMessage).toMatch(/^parse binary: /);
    // The worker survives its callers' garbage.
    expect(((await codec.decode(PREDICT, json.slice(), false)) as PredictRequest).model).toBe(
      "iris",
    );
  });

  it("DataType stays a number enum through the clone", async () => {
    const message = (await codec.decode(PREDICT, json.slice(), false)) as PredictRequest;
    expect(message.inputs.features?.dtype).toBe(DataType.FLOAT32);
  });

  it("encodes a big Predict answer in the worker as the path's own serialization would", async () => {
    for (const raw of [false, true]) {
      const result = bigResult(30_000);
      const message = answerPredict(result, raw);
      for (const binary of [true, false]) {
        const expected = SERIALIZATION.getO(binary).serialize(toPredictResponse(result, raw));
        const encoded = await codec.encode(PREDICT, message, binary);
        expect(Buffer.from(encoded ?? []).equals(Buffer.from(expected))).toBe(true);
      }
    }
    // The outputs it copied to the worker are still the caller's.
    const result = bigResult(30_000);
    await codec.encode(PREDICT, answerPredict(result, false), true);
    expect(result.outputs.scores?.data.length).toBe(90_000);
  });

  it("leaves small answers and other messages to the caller", () => {
    expect(codec.encode(PREDICT, answerPredict(bigResult(10), false), true)).toBeUndefined();
    const plain = toPredictResponse(bigResult(30_000), false);
    expect(codec.encode(PREDICT, plain, true)).toBeUndefined();
  });
});

const SERIALIZATION = createMethodSerializationLookup(
  InferenceService.method.predict,
  undefined,
  { ignoreUnknownFields: false },
  { readMaxBytes: 0xffffffff, writeMaxBytes: 0xffffffff },
);

/** A domain result of `n` rows: float scores [n, 3] with labels, int64 sums [n]. */
function bigResult(n: number): PredictResult {
  const scores: HostTensor = {
    dtype: "float32",
    dims: [n, 3],
    data: Float32Array.from({ length: n * 3 }, (_, i) => ((i * 7919) % 1000) / 997),
  };
  const sum: HostTensor = {
    dtype: "int64",
    dims: [n],
    data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 3n ** 30n),
  };
  const scoring = { scores, labels: ["a", "b", "c"], k: 2, outputName: "scores" };
  return {
    model: "m",
    version: 3,
    requestId: "r",
    outputs: { scores, sum },
    scoring,
    classifications: topKLabels(scores, scoring.labels, 2),
  };
}
