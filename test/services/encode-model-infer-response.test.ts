import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ModelInferResponseSchema } from "../../gen/inference/grpc_service_pb.js";
import { createSeededRandom } from "../../scripts/fixtures/seeded-random.js";
import { encodeModelInferResponse } from "../../src/services/encode-model-infer-response.js";
import { encodeResponseBinary } from "../../src/services/encode-predict-response.js";
import { randOf } from "../hostile/fuzz-mutations.js";
import { bytesOutcomeOf, type FastCount } from "./codec-outcome.js";

type Init = MessageInitShape<typeof ModelInferResponseSchema>;

const count: FastCount = { fast: 0 };

const outcome = (encode: () => Uint8Array) => bytesOutcomeOf(encode, count);

const TEXTS = ["", "logits", "FP32", "é", "模型", "b".repeat(200), "0"];
const DIMS = [0n, 1n, 3n, 127n, 128n, 16384n, 2n ** 48n, 2n ** 49n, 2n ** 63n - 1n, -1n];

function randomResponse(seed: number): Init {
  const rand = randOf(createSeededRandom(seed));
  const some = <T>(make: () => T, max = 3): T[] => Array.from({ length: rand.int(max + 1) }, make);
  const rare = () => rand.int(12) === 0;
  return {
    modelName: rand.pick(TEXTS),
    modelVersion: rand.pick(TEXTS),
    id: rand.pick(TEXTS),
    parameters: rare()
      ? { k: { parameterChoice: { case: "stringParam" as const, value: "v" } } }
      : {},
    outputs: some(() => ({
      name: rand.pick(TEXTS),
      datatype: rand.pick(TEXTS),
      shape: some(() => (rand.int(3) ? BigInt(rand.int(300)) : rand.pick(DIMS))),
      ...(rare() && { contents: { fp32Contents: [0.5] } }),
      ...(rare() && {
        parameters: { p: { parameterChoice: { case: "boolParam" as const, value: true } } },
      }),
    })),
    rawOutputContents: some(() => Uint8Array.from(some(() => rand.int(256), 300))),
  };
}

describe("encodeModelInferResponse", () => {
  it("writes the bytes toBinary writes, or throws its error: 4,000 seeded random responses", () => {
    for (let seed = 1; seed <= 4000; seed++) {
      const message = create(ModelInferResponseSchema, randomResponse(seed));
      const expected = outcome(() => toBinary(ModelInferResponseSchema, message));
      expect(
        outcome(() => encodeModelInferResponse(message)),
        `seed ${seed}`,
      ).toEqual(expected);
    }
    // Both paths must be exercised: a fuzz that always falls back proves nothing.
    expect(count.fast).toBeGreaterThan(500);
    expect(count.fast).toBeLessThan(3800);
  });

  it("keeps unknown fields and refuses invalid values, as toBinary does", () => {
    const message = create(ModelInferResponseSchema, { modelName: "m" });
    message.$unknown = [{ no: 9, wireType: 0, data: Uint8Array.of(7) }];
    expect([...encodeModelInferResponse(message)]).toEqual([0x0a, 1, 0x6d, 0x48, 7]);
    const bad = create(ModelInferResponseSchema, { outputs: [{ name: "y" }] });
    Object.assign(bad.outputs[0] ?? {}, { shape: [1.5] });
    const refused = outcome(() => toBinary(ModelInferResponseSchema, bad));
    expect(refused).toHaveProperty("error");
    expect(outcome(() => encodeModelInferResponse(bad))).toEqual(refused);
  });

  it("is what encodeResponseBinary uses for ModelInferResponse", () => {
    const message = create(ModelInferResponseSchema, { rawOutputContents: [Uint8Array.of(1)] });
    expect(Buffer.isBuffer(encodeResponseBinary(ModelInferResponseSchema, message))).toBe(true);
  });
});
