import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PredictResponseSchema } from "../../gen/inferd/v1/inference_pb.js";
import { StatusSchema } from "../../gen/inferd/v1/tensor_pb.js";
import {
  encodePredictResponse,
  encodeResponseBinary,
} from "../../src/services/encode-predict-response.js";
import { bytesOutcomeOf, type FastCount } from "./codec-outcome.js";
import { randomPredictResponse } from "./predict-response-samples.js";

const count: FastCount = { fast: 0 };

const outcome = (encode: () => Uint8Array) => bytesOutcomeOf(encode, count);

const TEXTS = ["", "logits", "é", "模型", "b".repeat(200), "0", "7"];
const FLOATS = [0, -0, 0.1, -1e-45, Number.NaN, Number.NEGATIVE_INFINITY, 3.4e38, 1e39, 1e300];
const INTS = [0, 1, 127, 128, 16384, 2 ** 28, 2 ** 31 - 1, -1, 2 ** 32, 1.5];

const POOLS = { texts: TEXTS, ints: INTS, floats: FLOATS, rareOneIn: 8, maxFloats: 40 };
const randomResponse = (seed: number) => randomPredictResponse(seed, POOLS);

describe("encodePredictResponse", () => {
  it("writes the bytes toBinary writes, or throws its error: 5,000 seeded random responses", () => {
    for (let seed = 1; seed <= 5000; seed++) {
      // Unchecked values (a version of 2^32, a dim of 1.5) reach the encoders as-is.
      const message = create(PredictResponseSchema);
      Object.assign(message, create(PredictResponseSchema, randomResponse(seed)));
      const expected = outcome(() => toBinary(PredictResponseSchema, message));
      expect(
        outcome(() => encodePredictResponse(message)),
        `seed ${seed}`,
      ).toEqual(expected);
    }
    // Both paths must be exercised: a fuzz that always falls back proves nothing.
    expect(count.fast).toBeGreaterThan(500);
    expect(count.fast).toBeLessThan(4500);
  });

  it("keeps unknown fields, as toBinary does", () => {
    const message = create(PredictResponseSchema, { model: "m" });
    message.$unknown = [{ no: 9, wireType: 0, data: Uint8Array.of(7) }];
    expect([...encodePredictResponse(message)]).toEqual([0x0a, 1, 0x6d, 0x48, 7]);
  });
});

describe("encodeResponseBinary", () => {
  it("encodes other messages with toBinary", () => {
    const status = create(StatusSchema, { code: 3, message: "bad" });
    expect(encodeResponseBinary(StatusSchema, status)).toEqual(toBinary(StatusSchema, status));
  });
});
