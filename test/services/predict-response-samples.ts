import type { MessageInitShape } from "@bufbuild/protobuf";
import type { PredictResponseSchema } from "../../gen/inferd/v1/inference_pb.js";
import { createSeededRandom } from "../../scripts/fixtures/seeded-random.js";
import { randOf } from "../hostile/fuzz-mutations.js";

/** What each differential encode test draws its odd values from. */
export interface ResponsePools {
  readonly texts: readonly string[];
  readonly ints: readonly number[];
  readonly floats: readonly number[];
  /** Optional fields (doubles, ints, int64s, bools, strings, raw data, classifications) appear 1 time in this many. */
  readonly rareOneIn: number;
  /** Most float values per output. */
  readonly maxFloats: number;
}

/**
 * A seeded random PredictResponse (as `create` init), mostly plain and sometimes odd, for
 * the tests that hold the hand-written writers (binary and JSON) to protobuf-es's bytes.
 */
export function randomPredictResponse(
  seed: number,
  pools: ResponsePools,
): MessageInitShape<typeof PredictResponseSchema> {
  const rand = randOf(createSeededRandom(seed));
  const some = <T>(make: () => T, max = 4): T[] => Array.from({ length: rand.int(max + 1) }, make);
  const rare = <T>(value: T, empty: T): T => (rand.int(pools.rareOneIn) === 0 ? value : empty);
  const float = () => (rand.int(3) ? Math.fround(rand.int(1000) / 7) : rand.pick(pools.floats));
  const tensor = () => ({
    dtype: rand.int(4) ? rand.int(11) : rand.pick(pools.ints),
    shape: some(() => (rand.int(4) ? rand.int(300) : rand.pick(pools.ints)), 3),
    floatData: some(float, pools.maxFloats),
    doubleData: rare(
      some(() => (rand.int(2) ? rand.int(1000) / 7 : rand.pick(pools.floats))),
      [],
    ),
    intData: rare(
      some(() => rand.pick(pools.ints)),
      [],
    ),
    int64Data: rare([1n, -2n], []),
    boolData: rare([true], []),
    stringData: rare(["s"], []),
    rawData: rare(Uint8Array.from(some(() => rand.int(256), 300)), new Uint8Array(0)),
  });
  return {
    model: rand.pick(pools.texts),
    version: rand.int(3) ? rand.int(3) : rand.pick(pools.ints),
    requestId: rand.pick(pools.texts),
    outputs: Object.fromEntries(some(() => [rand.pick(pools.texts), tensor()], 3)),
    classifications: rare([{ top: [{ label: "a", score: 0.5, index: 1 }] }], []),
  };
}
