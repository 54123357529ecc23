import type { PredictRequest } from "../../gen/inferd/v1/inference_pb.js";
import { DataTypeSchema, type Tensor } from "../../gen/inferd/v1/tensor_pb.js";
import { emptyPredictRequest, emptyTensor } from "./decode-predict-request.js";
import { fastOrUndefined, NOT_FAST } from "./wire-cursor.js";

/** Thrown inside the reader for anything it leaves to protobuf-es. */

/** DataType values by their JSON (and proto) names, as protobuf-es reads them. */
const DTYPES: ReadonlyMap<string, number> = new Map(
  DataTypeSchema.values.flatMap((v) => [
    [v.name, v.number],
    [v.jsonName, v.number],
  ]),
);
/** Any UTF-16 surrogate: a lone one is invalid UTF-8 to protobuf-es; pairs are left to it too. */
const SURROGATE = /[\uD800-\uDFFF]/;
const INT32_MIN = -(2 ** 31);

/** Counts the object keys read, and checks every string read (see `readPredictRequestJson`). */
class Reader {
  keys = 0;
  text(v: unknown): string {
    // A ':' in a parsed string would spoil the key count; a surrogate may be invalid UTF-8.
    if (typeof v !== "string" || v.includes(":") || SURROGATE.test(v)) throw NOT_FAST;
    return v;
  }
  object(v: unknown): Record<string, unknown> {
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw NOT_FAST;
    return v as Record<string, unknown>;
  }
  /** `v` itself (a fresh array of JSON.parse's) once each item passes `valid`. */
  list<T>(v: unknown, valid: (item: unknown) => boolean): T[] {
    if (!Array.isArray(v)) throw NOT_FAST;
    for (let i = 0; i < v.length; i++) if (!valid(v[i])) throw NOT_FAST;
    return v as T[];
  }
}

const isInt32 = (v: unknown): boolean =>
  typeof v === "number" && Number.isInteger(v) && v >= INT32_MIN && v < 2 ** 31;
const isUint32 = (v: unknown): boolean =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v < 2 ** 32;
// JSON.parse gives Infinity for 1e999, which protobuf-es refuses, as a float beyond float32.
const isFloat = (v: unknown): boolean => typeof v === "number" && Number.isFinite(Math.fround(v));
const isDouble = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v);
const isBool = (v: unknown): boolean => typeof v === "boolean";

function readDtype(v: unknown): number {
  if (typeof v === "string") {
    const number = DTYPES.get(v);
    if (number !== undefined) return number;
  } else if (isInt32(v)) return v as number;
  throw NOT_FAST;
}

/** Field bits, each set once: a field given by both its names is protobuf-es's error. */
function once(seen: { bits: number }, bit: number): void {
  if (seen.bits & bit) throw NOT_FAST;
  seen.bits |= bit;
}

function readTensor(r: Reader, json: Record<string, unknown>): Tensor {
  const t = emptyTensor();
  const seen = { bits: 0 };
  for (const key of Object.keys(json)) {
    r.keys++;
    const v = json[key];
    switch (key) {
      case "dtype":
        t.dtype = readDtype(v);
        break;
      case "shape":
        t.shape = r.list(v, isInt32);
        break;
      case "floatData":
      case "float_data":
        once(seen, 1);
        t.floatData = r.list(v, isFloat);
        break;
      case "doubleData":
      case "double_data":
        once(seen, 2);
        t.doubleData = r.list(v, isDouble);
        break;
      case "intData":
      case "int_data":
        once(seen, 4);
        t.intData = r.list(v, isInt32);
        break;
      case "boolData":
      case "bool_data":
        once(seen, 8);
        t.boolData = r.list(v, isBool);
        break;
      case "stringData":
      case "string_data":
        once(seen, 16);
        t.stringData = r.list(v, (s) => r.text(s) === s);
        break;
      case "int64Data":
      case "int64_data":
        once(seen, 32);
        // Strings and bigints: left to protobuf-es unless empty.
        if (r.list(v, () => false).length !== 0) throw NOT_FAST;
        break;
      case "rawData":
      case "raw_data":
        once(seen, 64);
        // base64: left to protobuf-es unless empty.
        if (v !== "") throw NOT_FAST;
        break;
      default:
        throw NOT_FAST;
    }
  }
  return t;
}

function readInputs(r: Reader, json: Record<string, unknown>, inputs: Record<string, Tensor>) {
  for (const name of Object.keys(json)) {
    r.keys++;
    // setOwn's special case, left to protobuf-es.
    if (name === "__proto__") throw NOT_FAST;
    inputs[r.text(name)] = readTensor(r, r.object(json[name]));
  }
}

function readFields(r: Reader, json: Record<string, unknown>): PredictRequest {
  const m = emptyPredictRequest();
  const seen = { bits: 0 };
  for (const key of Object.keys(json)) {
    r.keys++;
    const v = json[key];
    switch (key) {
      case "model":
        m.model = r.text(v);
        break;
      case "version":
        if (!isUint32(v)) throw NOT_FAST;
        m.version = v as number;
        break;
      case "inputs":
        readInputs(r, r.object(v), m.inputs);
        break;
      case "outputs":
        m.outputs = r.list(v, (s) => r.text(s) === s);
        break;
      case "requestId":
      case "request_id":
        once(seen, 1);
        m.requestId = r.text(v);
        break;
      case "rawOutputs":
      case "raw_outputs":
        once(seen, 2);
        if (!isBool(v)) throw NOT_FAST;
        m.rawOutputs = v as boolean;
        break;
      case "topK":
      case "top_k":
        once(seen, 4);
        if (!isUint32(v)) throw NOT_FAST;
        m.topK = v as number;
        break;
      case "priority":
        if (!isInt32(v)) throw NOT_FAST;
        m.priority = v as number;
        break;
      default:
        throw NOT_FAST;
    }
  }
  return m;
}

/** How many ':' `text` holds: one per object key, plus those inside strings. */
function colons(text: string): number {
  let n = 0;
  for (let i = text.indexOf(":"); i !== -1; i = text.indexOf(":", i + 1)) n++;
  return n;
}

/**
 * The PredictRequest in the JSON `text` if the hand-written reader takes all of it,
 * exactly as protobuf-es's `fromJsonString` gives it; undefined for anything it leaves
 * to protobuf-es: bad JSON, unknown keys, nulls, wrong types, a field named twice,
 * int64 or base64 values, strings holding ':' or surrogates, and duplicate keys.
 * Duplicates, which JSON.parse silently drops, are caught by counting: every key read
 * has one ':' in the text and no string read holds one, so the text holds exactly as
 * many ':' as keys read only if it holds no dropped key (nor any ':' in a string).
 * Exported for the differential tests, which must see which path a case took.
 */
export function readPredictRequestJson(text: string): PredictRequest | undefined {
  return fastOrUndefined(readText, text);
}

function readText(text: string): PredictRequest | undefined {
  const reader = new Reader();
  const message = readFields(reader, reader.object(JSON.parse(text)));
  return colons(text) === reader.keys ? message : undefined;
}
