import { type DescMessage, type Message, toBinary } from "@bufbuild/protobuf";
import { type PredictResponse, PredictResponseSchema } from "../../gen/inferd/v1/inference_pb.js";
import type { Tensor } from "../../gen/inferd/v1/tensor_pb.js";
import {
  type ModelInferResponse,
  ModelInferResponseSchema,
} from "../../gen/inference/grpc_service_pb.js";
import { encodeModelInferResponse } from "./encode-model-infer-response.js";
import { isAscii, varintSize, WireWriter } from "./wire-writer.js";

const FLOAT32_MAX = 3.4028234663852886e38;
const isUint32 = (v: unknown) =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v < 2 ** 32;
const textSize = (s: string) => 1 + varintSize(s.length) + s.length;

/**
 * The encoded size of `t`, or -1 when it holds anything written here not exactly as
 * protobuf-es writes it: int, int64, bool or string data, negative or huge dtype and
 * dims, a float32 protobuf-es would refuse, unknown fields.
 */
function tensorSize(t: Tensor): number {
  if (t.$typeName !== "inferd.v1.Tensor" || t.$unknown !== undefined) return -1;
  if (t.intData.length + t.int64Data.length + t.boolData.length + t.stringData.length > 0)
    return -1;
  if (!(isUint32(t.dtype) && t.dtype < 2 ** 31)) return -1;
  let size = t.dtype === 0 ? 0 : 1 + varintSize(t.dtype);
  if (t.shape.length > 0) {
    let dims = 0;
    for (const d of t.shape) {
      if (!(isUint32(d) && d < 2 ** 31)) return -1;
      dims += varintSize(d);
    }
    size += 1 + varintSize(dims) + dims;
  }
  for (const v of t.floatData) {
    if (typeof v !== "number" || (Number.isFinite(v) && Math.abs(v) > FLOAT32_MAX)) return -1;
  }
  for (const v of t.doubleData) if (typeof v !== "number") return -1;
  const floats = t.floatData.length * 4;
  const doubles = t.doubleData.length * 8;
  if (floats > 0) size += 1 + varintSize(floats) + floats;
  if (doubles > 0) size += 1 + varintSize(doubles) + doubles;
  const raw = t.rawData.length;
  return raw > 0 ? size + 1 + varintSize(raw) + raw : size;
}

/** The Tensor field written on {@link WireWriter}. */
class Writer extends WireWriter {
  tensor(t: Tensor): void {
    if (t.dtype !== 0) {
      this.tag(0x08);
      this.varint(t.dtype);
    }
    if (t.shape.length > 0) {
      this.tag(0x12);
      this.varint(t.shape.reduce((n, d) => n + varintSize(d), 0));
      for (const d of t.shape) this.varint(d);
    }
    this.floats(0x1a, t.floatData, 4);
    this.floats(0x22, t.doubleData, 8);
    if (t.rawData.length > 0) this.data(0x4a, t.rawData);
  }
}

/** The size of `m` encoded, or -1 when it is left to protobuf-es (see `tensorSize`). */
function responseSize(m: PredictResponse, entries: number[]): number {
  if (m.$typeName !== "inferd.v1.PredictResponse" || m.$unknown !== undefined) return -1;
  if (m.classifications.length > 0 || !isUint32(m.version)) return -1;
  if (!isAscii(m.model) || !isAscii(m.requestId)) return -1;
  let size =
    (m.model === "" ? 0 : textSize(m.model)) + (m.requestId === "" ? 0 : textSize(m.requestId));
  if (m.version !== 0) size += 1 + varintSize(m.version);
  for (const key in m.outputs) {
    const tensor = m.outputs[key] as Tensor;
    const value = tensorSize(tensor);
    if (value < 0 || !isAscii(key)) return -1;
    const entry = textSize(key) + 1 + varintSize(value) + value;
    entries.push(value, entry);
    size += 1 + varintSize(entry) + entry;
  }
  return size;
}

/**
 * Encodes a PredictResponse to exactly the bytes protobuf-es's `toBinary` writes, with
 * one sized buffer and no per-field dispatch for the plain case (ASCII text, float or
 * double or raw outputs, no classifications, no unknown fields); anything else goes
 * through `toBinary` itself, which also refuses invalid values in its words.
 * Why: `toBinary` was ~2 µs of main thread per one-row gRPC Predict.
 */
export function encodePredictResponse(m: PredictResponse): Uint8Array {
  const entries: number[] = [];
  // for-in also walks inherited keys, which Object.keys (protobuf-es) does not: leave them.
  if (Object.getPrototypeOf(m.outputs) !== Object.prototype)
    return toBinary(PredictResponseSchema, m);
  const size = responseSize(m, entries);
  if (size < 0) return toBinary(PredictResponseSchema, m);
  const w = new Writer(size);
  if (m.model !== "") w.text(0x0a, m.model);
  if (m.version !== 0) {
    w.bytes[w.pos++] = 0x10;
    w.varint(m.version);
  }
  let i = 0;
  for (const key in m.outputs) {
    const value = entries[i++] as number;
    w.bytes[w.pos++] = 0x1a;
    w.varint(entries[i++] as number);
    w.text(0x0a, key);
    w.bytes[w.pos++] = 0x12;
    w.varint(value);
    w.tensor(m.outputs[key] as Tensor);
  }
  if (m.requestId !== "") w.text(0x22, m.requestId);
  return w.bytes;
}

/**
 * `toBinary(schema, message)`, through {@link encodePredictResponse} for PredictResponse and
 * `encodeModelInferResponse` for ModelInferResponse:
 * the one entry the lean gRPC path encodes unary answers by.
 */
export function encodeResponseBinary(schema: DescMessage, message: Message): Uint8Array {
  if (schema === PredictResponseSchema) return encodePredictResponse(message as PredictResponse);
  if (schema === ModelInferResponseSchema)
    return encodeModelInferResponse(message as ModelInferResponse);
  return toBinary(schema, message);
}
