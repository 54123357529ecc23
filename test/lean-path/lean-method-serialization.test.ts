import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { createMethodSerializationLookup } from "@connectrpc/connect/protocol";
import { describe, expect, it } from "vitest";
import { InferenceService, PredictResponseSchema } from "../../gen/inferd/v1/inference_pb.js";

import { DataType } from "../../gen/inferd/v1/tensor_pb.js";
import { createLeanMethodSerialization } from "../../src/lean-path/lean-method-serialization.js";
import { createSampleSource } from "../services/predict-request-samples.js";

const METHOD = InferenceService.method.predict;
const JSON_OPTIONS = { ignoreUnknownFields: false };

function outcome(run: () => unknown): unknown {
  try {
    const value = run();
    // The fast encoder answers a Buffer (from Node's pool): compare its bytes.
    return { value: value instanceof Uint8Array ? [...value] : value };
  } catch (error) {
    const e = error as ConnectError;
    return { error: e.message, code: e.code, connect: error instanceof ConnectError };
  }
}

function both(limits: { readMaxBytes: number; writeMaxBytes: number }) {
  return {
    lean: createLeanMethodSerialization(METHOD, JSON_OPTIONS, limits),
    connect: createMethodSerializationLookup(METHOD, undefined, JSON_OPTIONS, limits),
  };
}

describe("createLeanMethodSerialization", () => {
  it("parses binary Predict requests as connect-es does, errors and all: 3,000 seeded samples", () => {
    const { lean, connect } = both({ readMaxBytes: 200, writeMaxBytes: 0xffffffff });
    const source = createSampleSource(14);
    for (let i = 0; i < 1000; i++) {
      const encoded = source.encoded();
      for (const bytes of [encoded, source.crafted(), source.mutated(encoded)]) {
        const expected = outcome(() => connect.getI(true).parse(bytes));
        expect(outcome(() => lean.getI(true).parse(bytes))).toEqual(expected);
      }
    }
  });

  it("serializes binary Predict answers to connect-es's bytes, under the same write limit", () => {
    const answer = create(PredictResponseSchema, {
      model: "mlp_small",
      version: 3,
      outputs: { y: { dtype: DataType.FLOAT32, shape: [1, 2], floatData: [1.5, -2] } },
    });
    for (const writeMaxBytes of [0xffffffff, 10]) {
      const { lean, connect } = both({ readMaxBytes: 0xffffffff, writeMaxBytes });
      const expected = outcome(() => connect.getO(true).serialize(answer));
      expect(outcome(() => lean.getO(true).serialize(answer))).toEqual(expected);
    }
    const { lean } = both({ readMaxBytes: 0xffffffff, writeMaxBytes: 10 });
    expect(outcome(() => lean.getO(true).serialize(answer))).toMatchObject({ code: 8 });
  });

  it("leaves JSON to connect-es's serialization", () => {
    const { lean, connect } = both({ readMaxBytes: 1000, writeMaxBytes: 1000 });
    const body = new TextEncoder().encode('{"model":"m","bogus":1}');
    expect(outcome(() => lean.getI(false).parse(body))).toEqual(
      outcome(() => connect.getI(false).parse(body)),
    );
    expect(outcome(() => lean.getI(false).parse(body))).toMatchObject({ code: 3 });
  });
});
