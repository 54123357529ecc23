import { create, type DescMethod } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { createMethodSerializationLookup } from "@connectrpc/connect/protocol";
import { describe, expect, it } from "vitest";
import { InferenceService, PredictResponseSchema } from "../../gen/inferd/v1/inference_pb.js";
import { withPredictJson } from "../../src/lean-path/predict-json-serialization.js";
import { strictUtf8Decoder } from "../../src/text/strict-utf8.js";

const jsonOptions = { ignoreUnknownFields: false, textDecoder: strictUtf8Decoder };
const limits = { readMaxBytes: 200, writeMaxBytes: 0xffffffff };

function lookups(method: DescMethod = InferenceService.method.predict) {
  const plain = createMethodSerializationLookup(method, undefined, jsonOptions, limits);
  return { plain, fast: withPredictJson(plain, method, { jsonOptions, readMaxBytes: 200 }) };
}

function outcome(run: () => unknown): unknown {
  try {
    const value = run();
    return { value: value instanceof Uint8Array ? Buffer.from(value).toString() : value };
  } catch (error) {
    const e = error as ConnectError;
    return { error: e.message, code: e.code, connect: e instanceof ConnectError };
  }
}

describe("withPredictJson", () => {
  it.each([
    ['{"model":"m","inputs":{"x":{"shape":[1,2],"floatData":[1.5,2]}}}', "a plain body"],
    ['{"model":"m","model":"n"}', "a duplicate key"],
    ['{"model":"m",', "bad JSON"],
    ['{"nope":1}', "an unknown key"],
    [`{"model":"${"m".repeat(200)}"}`, "a body beyond readMaxBytes"],
  ])("parses %s (%s) as connect-es does", (text) => {
    const { plain, fast } = lookups();
    const bytes = Buffer.from(text);
    expect(outcome(() => fast.getI(false).parse(bytes))).toStrictEqual(
      outcome(() => plain.getI(false).parse(bytes)),
    );
  });

  it("refuses invalid UTF-8 in connect-es's words", () => {
    const { plain, fast } = lookups();
    const bytes = Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]);
    const expected = outcome(() => plain.getI(false).parse(bytes));
    expect(expected).toMatchObject({ code: 3 });
    expect(outcome(() => fast.getI(false).parse(bytes))).toStrictEqual(expected);
  });

  it("serializes answers to the bytes connect-es writes, the binary side untouched", () => {
    const { plain, fast } = lookups();
    const answer = create(PredictResponseSchema, {
      model: "é",
      outputs: { y: { dtype: 1, shape: [1], floatData: [Math.fround(0.1)] } },
    });
    expect(outcome(() => fast.getO(false).serialize(answer))).toStrictEqual(
      outcome(() => plain.getO(false).serialize(answer)),
    );
    expect(fast.getO(true)).toBe(plain.getO(true));
    expect(fast.getI(true)).toBe(plain.getI(true));
  });

  it("keeps other methods' serialization", () => {
    const { plain, fast } = lookups(InferenceService.method.batchPredict);
    expect(fast).toBe(plain);
  });
});
