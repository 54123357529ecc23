import { create, toBinary } from "@bufbuild/protobuf";
import { PredictRequestSchema } from "../../gen/inferd/v1/inference_pb.js";
import { createSeededRandom } from "../../scripts/fixtures/seeded-random.js";
import { type Rand, randOf } from "../hostile/fuzz-mutations.js";
import { mutateBytes } from "./codec-outcome.js";

/** Seeded random PredictRequest encodings, plain and odd, for the differential decode test. */
export interface SampleSource {
  readonly rand: Rand;
  /** A request as protobuf-es encodes it, with random field values. */
  encoded(): Uint8Array;
  /** Hand-built wire bytes: unusual but often valid encodings, or broken ones. */
  crafted(): Uint8Array;
  /** `bytes` with a random byte-level mutation. */
  mutated(bytes: Uint8Array): Uint8Array;
}

const TEXTS = [
  "",
  "x",
  "mlp_small",
  "é",
  "模型",
  "a".repeat(40),
  "__proto__",
  "\u0000",
  "toString",
];
const INTS = [0, 1, -1, 127, 128, 300, 2 ** 31 - 1, -(2 ** 31), 2 ** 28 + 5];
const FLOATS = [0, -0, 1.5, -2.25, Number.NaN, Number.POSITIVE_INFINITY, 3.4e38, 1e-45];

/** Varint bytes of `value` (negative numbers as 10-byte two's complement, like int32). */
function varint(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return out;
}

const tag = (field: number, wireType: number) => varint(field * 8 + wireType);
const len = (field: number, body: number[]) => [...tag(field, 2), ...varint(body.length), ...body];
const f32 = (v: number) => [...new Uint8Array(Float32Array.of(v).buffer)];
const utf8 = (s: string) => [...Buffer.from(s, "utf8")];

/** Creates the sample source for `seed`. */
export function createSampleSource(seed: number): SampleSource {
  const rand = randOf(createSeededRandom(seed));
  const some = <T>(make: () => T, max = 4): T[] => Array.from({ length: rand.int(max + 1) }, make);
  const tensor = () => ({
    dtype: rand.int(12),
    shape: some(() => rand.pick(INTS), 3),
    floatData: rand.int(2) ? some(() => rand.pick(FLOATS), 70) : [],
    doubleData: rand.int(4) ? [] : some(() => rand.pick(FLOATS)),
    intData: rand.int(4) ? [] : some(() => rand.pick(INTS)),
    int64Data: rand.int(4) ? [] : some(() => BigInt(rand.pick([...INTS, 2 ** 50, -(2 ** 60)]))),
    boolData: rand.int(4) ? [] : some(() => rand.int(2) === 1),
    stringData: rand.int(4) ? [] : some(() => rand.pick(TEXTS)),
    rawData: rand.int(4) ? new Uint8Array(0) : Uint8Array.from(some(() => rand.int(256), 12)),
  });
  const encoded = () =>
    toBinary(
      PredictRequestSchema,
      create(PredictRequestSchema, {
        model: rand.pick(TEXTS),
        version: rand.pick([0, 1, 7, 2 ** 32 - 1]),
        inputs: Object.fromEntries(some(() => [rand.pick(TEXTS), tensor()], 3)),
        outputs: some(() => rand.pick(TEXTS), 2),
        requestId: rand.pick(TEXTS),
        rawOutputs: rand.int(2) === 1,
        topK: rand.pick([0, 3, 300]),
        priority: rand.pick(INTS),
      }),
    );
  const tensorField = (): number[] => {
    const pick = rand.int(10);
    if (pick === 0) return [...tag(3, 5), ...f32(rand.pick(FLOATS))]; // unpacked float
    if (pick === 1) return [...tag(2, 0), ...varint(rand.pick(INTS))]; // unpacked shape
    if (pick === 2) return len(3, [...f32(1), ...f32(2)]); // a second packed run
    if (pick === 3) return [...tag(rand.int(20) + 1, rand.int(6)), ...varint(rand.int(400))];
    if (pick === 4) return [...tag(1, 0), ...varint(rand.pick([0, 1, 11, 99, -1]))];
    if (pick === 5) return len(8, utf8(rand.pick(TEXTS)));
    if (pick === 6) return len(7, [1, 0, 0x81, 0x00]);
    if (pick === 7) return len(6, varint(rand.pick([1, -1, 2 ** 50])));
    if (pick === 8) return [...tag(15, 3), ...tag(1, 0), 1, ...tag(15, 4)]; // a group
    // Packed floats, maybe ragged.
    return len(
      3,
      some(() => rand.int(256), 9),
    );
  };
  const entry = (): number[] => {
    const parts = [
      len(1, utf8(rand.pick(TEXTS))),
      len(2, some(tensorField, 4).flat()),
      len(2, some(tensorField, 2).flat()),
      [...tag(3, 0), 5],
    ];
    return len(3, some(() => rand.pick(parts), 3).flat());
  };
  const topField = (): number[] => {
    const pick = rand.int(8);
    if (pick < 3) return entry();
    if (pick === 3) return len(rand.pick([1, 4, 5]), utf8(rand.pick(TEXTS)));
    if (pick === 4) return [...tag(rand.pick([2, 6, 7, 8]), 0), ...varint(rand.pick(INTS))];
    if (pick === 5) return [...tag(rand.int(12) + 1, rand.int(8)), ...varint(rand.int(300))];
    if (pick === 6) return [...tag(rand.pick([1, 2, 3]), rand.int(6)), 3, 1, 2, 3];
    return [...tag(9, 2), ...varint(4), 1, 2, 3, 4]; // an unknown field, kept in $unknown
  };
  const mutated = (bytes: Uint8Array): Uint8Array => mutateBytes(rand, bytes);
  return { rand, encoded, crafted: () => Uint8Array.from(some(topField, 5).flat()), mutated };
}
