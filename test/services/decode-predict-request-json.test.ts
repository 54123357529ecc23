import { fromJsonString } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PredictRequestSchema } from "../../gen/inferd/v1/inference_pb.js";
import { createSeededRandom } from "../../scripts/fixtures/seeded-random.js";
import { readPredictRequestJson } from "../../src/services/decode-predict-request-json.js";
import { type Rand, randOf } from "../hostile/fuzz-mutations.js";
import { outcomeOf } from "./codec-outcome.js";

const OPTIONS = { ignoreUnknownFields: false };

const outcome = outcomeOf;

/** Decodes with both; returns whether the hand-written reader took it. */
function expectSameAsProtobufEs(text: string): boolean {
  const expected = outcome(() => fromJsonString(PredictRequestSchema, text, OPTIONS));
  const fast = readPredictRequestJson(text);
  if (fast !== undefined) expect({ value: fast }).toStrictEqual(expected);
  return fast !== undefined;
}

const TEXTS = [
  "",
  "x",
  "mlp_small",
  "é",
  "模型",
  "a:b",
  "__proto__",
  "\u0000",
  "\ud800",
  "toString",
];
const NUMBERS = [
  0,
  -0,
  1,
  -1,
  1.5,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  2 ** 32,
  3.4e38,
  3.5e38,
  1e-45,
];
const ODD = [null, "1", "NaN", "Infinity", "", true, {}, [], "AAE=", "12345678901234567890"];
const DTYPES = ["DATA_TYPE_FLOAT32", "DATA_TYPE_INT64", "DATA_TYPE_NOPE", 1, 7, 99, -3, 1.5];

/** A random JSON value for a field, mostly of its type, sometimes anything. */
function randomValue(rand: Rand, kind: string): unknown {
  if (rand.int(12) === 0) return rand.pick(ODD);
  const list = (item: () => unknown) => Array.from({ length: rand.int(6) }, item);
  const num = () => (rand.int(3) ? rand.int(1000) / 8 : rand.pick(NUMBERS));
  switch (kind) {
    case "text":
      return rand.pick(TEXTS);
    case "num":
      return rand.int(3) ? rand.int(5) : rand.pick(NUMBERS);
    case "bool":
      return rand.int(2) === 0;
    case "texts":
      return list(() => rand.pick(TEXTS));
    case "nums":
      return list(num);
    case "bools":
      return list(() => rand.int(2) === 0);
    case "dtype":
      return rand.pick(DTYPES);
    default:
      return rand.int(4) ? "" : rand.pick(ODD);
  }
}

const REQUEST_KEYS: [string, string][] = [
  ["model", "text"],
  ["version", "num"],
  ["outputs", "texts"],
  ["requestId", "text"],
  ["request_id", "text"],
  ["rawOutputs", "bool"],
  ["raw_outputs", "bool"],
  ["topK", "num"],
  ["top_k", "num"],
  ["priority", "num"],
  ["nope", "text"],
];
const TENSOR_KEYS: [string, string][] = [
  ["dtype", "dtype"],
  ["shape", "nums"],
  ["floatData", "nums"],
  ["float_data", "nums"],
  ["doubleData", "nums"],
  ["intData", "nums"],
  ["int_data", "nums"],
  ["int64Data", "nums"],
  ["boolData", "bools"],
  ["stringData", "texts"],
  ["rawData", "bytes"],
  ["extra", "num"],
];

/** JSON members `"key":value` picked from `keys`, common ones likely, and sometimes repeated. */
function members(rand: Rand, keys: [string, string][], common: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < 1 + rand.int(4); i++) {
    const [key, kind] = rand.int(3)
      ? (keys[rand.int(common)] as [string, string])
      : rand.pick(keys);
    out.push(`${JSON.stringify(key)}:${JSON.stringify(randomValue(rand, kind))}`);
  }
  return out;
}

function randomBody(rand: Rand): string {
  const tensor = () => `{${members(rand, TENSOR_KEYS, 3).join(",")}}`;
  const inputs = Array.from(
    { length: rand.int(3) },
    () => `${JSON.stringify(rand.pick(["x", "y", "a:b", "__proto__", "1", "\ud800"]))}:${tensor()}`,
  );
  const top = members(rand, REQUEST_KEYS, 2);
  if (rand.int(4)) top.push(`"inputs":{${inputs.join(",")}}`);
  return `{${top.join(rand.pick([",", " , ", ",\n"]))}}`;
}

/** `text` with a small edit: a byte cut, a key escaped, a colon or duplicate added. */
function mutated(rand: Rand, text: string): string {
  const at = rand.int(text.length + 1);
  switch (rand.int(5)) {
    case 0:
      return text.slice(0, at) + text.slice(at + 1);
    case 1:
      return text.replace('"model"', '"mod\\u0065l"').replace('"x"', '"\\u0078"');
    case 2:
      return text.replace('"mlp_small"', '"mlp\\u003asmall"');
    case 3:
      return text.replace("{", '{"model":"dup",');
    default:
      return text.slice(0, at) + rand.pick([":", "null", '"', "]", ",", "{}"]) + text.slice(at);
  }
}

describe("readPredictRequestJson", () => {
  it("reads a one-row request itself, as fromJsonString does", () => {
    const text =
      '{"model":"mlp_small","inputs":{"x":{"dtype":"DATA_TYPE_FLOAT32","shape":[1,4],"float_data":[5.1,3.5,1.4,0.2]}},"requestId":"r-1"}';
    expect(expectSameAsProtobufEs(text)).toBe(true);
    expect(readPredictRequestJson(text)?.inputs.x?.floatData).toEqual([5.1, 3.5, 1.4, 0.2]);
  });

  it.each([
    ['{"model":"a","model":"b"}', "a duplicate key"],
    ['{"inputs":{"x":{"shape":[1],"shape":[2]}}}', "a duplicate nested key"],
    ['{"model":"a","mod\\u0065l":"b"}', "an escaped duplicate key"],
    ['{"requestId":"a","request_id":"b"}', "a field by both names"],
    ['{"model":"a\\u003ab","nope":1}', "an escaped colon beside an unknown key"],
    ['{"model":null}', "a null"],
    ['{"inputs":{"x":{"int64Data":["1"]}}}', "int64 strings"],
    ['{"inputs":{"x":{"floatData":["NaN"]}}}', "float strings"],
    ['{"inputs":{"x":{"floatData":[1e999]}}}', "a number beyond double"],
  ])("leaves %s (%s) to protobuf-es", (text) => {
    expect(readPredictRequestJson(text)).toBeUndefined();
  });

  it("decodes as fromJsonString does: thousands of seeded random and mutated bodies", () => {
    const rand = randOf(createSeededRandom(20261207));
    let fast = 0;
    let total = 0;
    for (let i = 0; i < 4000; i++) {
      const body = randomBody(rand);
      for (const text of [body, mutated(rand, body)]) {
        total++;
        if (expectSameAsProtobufEs(text)) fast++;
      }
    }
    // Both paths must be exercised: a fuzz that always falls back proves nothing.
    expect(fast).toBeGreaterThan(total / 10);
    expect(total - fast).toBeGreaterThan(total / 4);
  });
});
