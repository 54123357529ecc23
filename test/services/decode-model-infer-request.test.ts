import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ModelInferRequestSchema } from "../../gen/inference/grpc_service_pb.js";
import { createSeededRandom } from "../../scripts/fixtures/seeded-random.js";
import {
  decodeModelInferRequest,
  readModelInferRequestFast,
} from "../../src/services/decode-model-infer-request.js";
import { decodeRequestBinary } from "../../src/services/decode-predict-request.js";
import { randOf } from "../hostile/fuzz-mutations.js";
import { mutateBytes, outcomeOf } from "./codec-outcome.js";

const outcome = outcomeOf;

/** Decodes with both; returns whether the hand-written reader took it. */
function expectSameAsProtobufEs(bytes: Uint8Array): boolean {
  const expected = outcome(() => fromBinary(ModelInferRequestSchema, bytes));
  expect(outcome(() => decodeModelInferRequest(bytes))).toStrictEqual(expected);
  const fast = readModelInferRequestFast(bytes);
  if (fast !== undefined) expect({ value: fast }).toStrictEqual(expected);
  return fast !== undefined;
}

const TEXTS = ["", "", "x", "iris", "FP32", "INT64", "é", "模型", "a".repeat(40), "__proto__", "y"];
const DIMS = [0n, 1n, 4n, 4n, 127n, 128n, 2n ** 40n, 2n ** 50n, -1n];

const mutated = mutateBytes;

function randomRequest(rand: ReturnType<typeof randOf>): Uint8Array {
  const some = <T>(make: () => T, max = 3): T[] => Array.from({ length: rand.int(max + 1) }, make);
  const rare = rand.int(6) === 0;
  return toBinary(
    ModelInferRequestSchema,
    create(ModelInferRequestSchema, {
      modelName: rand.pick(TEXTS),
      modelVersion: rand.pick(TEXTS),
      id: rand.pick(TEXTS),
      parameters: rare
        ? { k: { parameterChoice: { case: "int64Param" as const, value: 3n } } }
        : {},
      inputs: some(() => ({
        name: rand.pick(TEXTS),
        datatype: rand.pick(TEXTS),
        shape: some(() => rand.pick(DIMS)),
        ...(rand.int(8) === 0 && { contents: { fp32Contents: [1.5] } }),
        ...(rand.int(8) === 0 && {
          parameters: { b: { parameterChoice: { case: "boolParam" as const, value: true } } },
        }),
      })),
      outputs: some(() => ({ name: rand.pick(TEXTS) }), 2),
      rawInputContents: some(() => Uint8Array.from(some(() => rand.int(256), 20))),
    }),
  );
}

describe("decodeModelInferRequest", () => {
  it("reads a one-row raw request itself", () => {
    const bytes = toBinary(
      ModelInferRequestSchema,
      create(ModelInferRequestSchema, {
        modelName: "iris",
        inputs: [{ name: "x", datatype: "FP32", shape: [1n, 4n] }],
        rawInputContents: [Uint8Array.of(1, 2, 3, 4)],
      }),
    );
    const message = readModelInferRequestFast(bytes);
    expect(message?.inputs[0]?.shape).toEqual([1n, 4n]);
    expect([...(message?.rawInputContents[0] ?? [])]).toEqual([1, 2, 3, 4]);
  });

  it("leaves unknown fields to protobuf-es, which keeps them", () => {
    const bytes = Uint8Array.of(0x0a, 1, 0x6d, 0x48, 7);
    expect(readModelInferRequestFast(bytes)).toBeUndefined();
    expect(decodeModelInferRequest(bytes).$unknown?.[0]?.no).toBe(9);
  });

  it("decodes as fromBinary does: thousands of seeded random and mutated encodings", () => {
    const rand = randOf(createSeededRandom(20261207));
    let fast = 0;
    let total = 0;
    for (let i = 0; i < 3000; i++) {
      const bytes = randomRequest(rand);
      for (const sample of [bytes, mutated(rand, bytes)]) {
        total++;
        if (expectSameAsProtobufEs(sample)) fast++;
      }
    }
    // Both paths must be exercised: a fuzz that always falls back proves nothing.
    expect(fast).toBeGreaterThan(total / 10);
    expect(total - fast).toBeGreaterThan(total / 5);
  });

  it("is what decodeRequestBinary uses for ModelInferRequest", () => {
    const bytes = Uint8Array.of(0x0a, 1, 0x6d);
    expect(decodeRequestBinary(ModelInferRequestSchema, bytes)).toStrictEqual(
      fromBinary(ModelInferRequestSchema, bytes),
    );
  });
});
