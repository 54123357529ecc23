import type { PredictResponse } from "../../gen/inferd/v1/inference_pb.js";
import { DataTypeSchema, type Tensor } from "../../gen/inferd/v1/tensor_pb.js";
import { fastOrUndefined, NOT_FAST } from "./wire-cursor.js";

/** Thrown inside the writer for anything it leaves to protobuf-es. */
/** DataType JSON names by number, as protobuf-es writes them. */
const DTYPE_NAMES: ReadonlyMap<number, string> = new Map(
  DataTypeSchema.values.map((v) => [v.number, v.jsonName]),
);

/**
 * `[a,b,...]` for a non-empty list of finite numbers, "" for an empty one; protobuf-es
 * writes each number as JSON.stringify does, which for a finite number is its String.
 * NaN and infinities (written as strings) and anything not a number are left to it.
 */
function numbers(key: string, values: unknown): string {
  if (!Array.isArray(values)) throw NOT_FAST;
  if (values.length === 0) return "";
  for (let i = 0; i < values.length; i++) {
    const v: unknown = values[i];
    if (typeof v !== "number" || !Number.isFinite(v)) throw NOT_FAST;
  }
  return `,"${key}":[${values.join(",")}]`;
}

const isEmptyList = (v: unknown) => Array.isArray(v) && v.length === 0;

function tensorJson(t: Tensor): string {
  if (t.$typeName !== "inferd.v1.Tensor") throw NOT_FAST;
  // int64, bool, string and raw data: left to protobuf-es.
  if (!(isEmptyList(t.int64Data) && isEmptyList(t.boolData) && isEmptyList(t.stringData)))
    throw NOT_FAST;
  if (!(t.rawData instanceof Uint8Array && t.rawData.byteLength === 0)) throw NOT_FAST;
  if (typeof t.dtype !== "number" || !Number.isFinite(t.dtype)) throw NOT_FAST;
  let json = "";
  if (t.dtype !== 0) {
    const name = DTYPE_NAMES.get(t.dtype);
    json = `,"dtype":${name === undefined ? String(t.dtype) : `"${name}"`}`;
  }
  json +=
    numbers("shape", t.shape) +
    numbers("floatData", t.floatData) +
    numbers("doubleData", t.doubleData) +
    numbers("intData", t.intData);
  return `{${json.slice(1)}}`;
}

function outputsJson(outputs: Record<string, Tensor>): string {
  let json = "";
  for (const key of Object.keys(outputs)) {
    // setOwn's special case, left to protobuf-es.
    if (key === "__proto__") throw NOT_FAST;
    json += `,${JSON.stringify(key)}:${tensorJson(outputs[key] as Tensor)}`;
  }
  return json === "" ? "" : `,"outputs":{${json.slice(1)}}`;
}

function responseJson(m: PredictResponse): string {
  if (m.$typeName !== "inferd.v1.PredictResponse") throw NOT_FAST;
  if (!isEmptyList(m.classifications)) throw NOT_FAST;
  if (typeof m.model !== "string" || typeof m.requestId !== "string") throw NOT_FAST;
  if (typeof m.version !== "number" || !Number.isFinite(m.version)) throw NOT_FAST;
  let json = m.model === "" ? "" : `,"model":${JSON.stringify(m.model)}`;
  if (m.version !== 0) json += `,"version":${m.version}`;
  json += outputsJson(m.outputs);
  if (m.requestId !== "") json += `,"requestId":${JSON.stringify(m.requestId)}`;
  return `{${json.slice(1)}}`;
}

/**
 * The text protobuf-es's `toJsonString` writes for `m` with the default write options
 * (JSON names, enum names, implicit defaults left out, no extensions), built directly
 * for the plain case: float, double or int32 outputs of finite values, no
 * classifications; undefined for anything else, which protobuf-es writes (or refuses)
 * in its own words. Field order is the schema's by number, map keys in `Object.keys`
 * order, as protobuf-es's.
 * Why: toJson's reflection plus JSON.stringify of the object it builds was a large
 * part of a one-row Connect JSON Predict's serialization.
 */
export function writePredictResponseJson(m: PredictResponse): string | undefined {
  return fastOrUndefined(responseJson, m);
}
