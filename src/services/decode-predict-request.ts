import { type DescMessage, fromBinary, type Message } from "@bufbuild/protobuf";
import { type PredictRequest, PredictRequestSchema } from "../../gen/inferd/v1/inference_pb.js";
import type { Tensor } from "../../gen/inferd/v1/tensor_pb.js";
import { ModelInferRequestSchema } from "../../gen/inference/grpc_service_pb.js";
import { decodeModelInferRequest } from "./decode-model-infer-request.js";
import { withPackedFloats } from "./packed-floats.js";
import { fastOrUndefined, NOT_FAST, WireCursor } from "./wire-cursor.js";

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;
/** The wire type of each PredictRequest field, by number (undefined: unknown field). */
const REQUEST_WIRE_TYPES = [-1, LEN, VARINT, LEN, LEN, LEN, VARINT, VARINT, VARINT];

/**
 * Shared by every decoded Tensor without raw data, where protobuf-es makes one each
 * (~190 ns): a zero-length array has nothing to mutate, and it is never a model input
 * (no values), so never a buffer transferred to a session worker.
 */
const NO_BYTES = new Uint8Array(0);

/** A Tensor as `create(TensorSchema)` builds it: every field, in the schema's order (raw data shared, see `NO_BYTES`). */
export function emptyTensor(): Tensor {
  return {
    $typeName: "inferd.v1.Tensor",
    dtype: 0,
    shape: [],
    floatData: [],
    doubleData: [],
    intData: [],
    int64Data: [],
    boolData: [],
    stringData: [],
    rawData: NO_BYTES,
  };
}

/** A PredictRequest as `create(PredictRequestSchema)` builds it: every field, in the schema's order. */
export function emptyPredictRequest(): PredictRequest {
  return {
    $typeName: "inferd.v1.PredictRequest",
    model: "",
    version: 0,
    inputs: {},
    outputs: [],
    requestId: "",
    rawOutputs: false,
    topK: 0,
    priority: 0,
  };
}

/** How to read one element of a repeated Tensor field (see {@link readElement}). */
type Element = "int32" | "float" | "double" | "int64" | "bool";

function readElement(c: WireCursor, element: Element, end: number): number | bigint | boolean {
  switch (element) {
    case "int32":
      return c.uint32(end) | 0;
    case "float":
      return c.float(end);
    case "double":
      return c.double(end);
    case "int64":
      return BigInt(c.smallUint(end));
    case "bool":
      return c.smallUint(end) !== 0;
  }
}

/**
 * Reads one unpacked value (wire type `unpacked`) or a packed run into `items`; returns
 * the list, a new one for a first packed run of floats or doubles (see `packedFloats`).
 */
function readRepeated<T>(
  c: WireCursor,
  wireType: number,
  end: number,
  unpacked: number,
  element: Element,
  items: T[],
): T[] {
  if (wireType === unpacked) {
    items.push(readElement(c, element, end) as T);
    return items;
  }
  if (wireType !== LEN) throw NOT_FAST;
  const stop = c.lengthEnd(end);
  if (items.length === 0 && (element === "float" || element === "double")) {
    return c.packedFloats(stop, element === "float" ? 4 : 8) as T[];
  }
  while (c.pos < stop) items.push(readElement(c, element, stop) as T);
  return items;
}

/**
 * The shortest packed float_data run read as a Float32Array (1 KiB): below it, the
 * side table and accessor of `withPackedFloats` (~1 µs) cost more than the number[]
 * they save, and so small an array rarely outlives a scavenge.
 */
const MIN_TYPED_FLOATS = 256;

/**
 * float_data: a packed run of {@link MIN_TYPED_FLOATS} or more as a Float32Array (what
 * every encoder writes for a big tensor), anything else into `t.floatData` as before. A
 * field in several parts after such a run is left to protobuf-es.
 */
function readFloats(
  c: WireCursor,
  wireType: number,
  end: number,
  t: Tensor,
  floats: Float32Array | undefined,
): Float32Array | undefined {
  if (floats !== undefined) throw NOT_FAST;
  if (wireType === LEN && t.floatData.length === 0) {
    const stop = c.lengthEnd(end);
    if (stop - c.pos >= 4 * MIN_TYPED_FLOATS) return c.packedFloat32(stop);
    t.floatData = c.packedFloats(stop, 4);
    return undefined;
  }
  t.floatData = readRepeated(c, wireType, end, I32, "float", t.floatData);
  return undefined;
}

function readTensor(c: WireCursor, end: number): Tensor {
  const t = emptyTensor();
  let floats: Float32Array | undefined;
  while (c.pos < end) {
    const tag = c.uint32(end);
    const wireType = tag & 7;
    switch (tag >>> 3) {
      case 1:
        if (wireType !== VARINT) throw NOT_FAST;
        t.dtype = c.uint32(end) | 0;
        break;
      case 2:
        t.shape = readRepeated(c, wireType, end, VARINT, "int32", t.shape);
        break;
      case 3:
        floats = readFloats(c, wireType, end, t, floats);
        break;
      case 4:
        t.doubleData = readRepeated(c, wireType, end, I64, "double", t.doubleData);
        break;
      case 5:
        t.intData = readRepeated(c, wireType, end, VARINT, "int32", t.intData);
        break;
      case 6:
        t.int64Data = readRepeated(c, wireType, end, VARINT, "int64", t.int64Data);
        break;
      case 7:
        t.boolData = readRepeated(c, wireType, end, VARINT, "bool", t.boolData);
        break;
      case 8:
        if (wireType !== LEN) throw NOT_FAST;
        t.stringData.push(c.string(end));
        break;
      case 9:
        if (wireType !== LEN) throw NOT_FAST;
        t.rawData = c.bytes(end);
        break;
      default:
        // An unknown field (kept in $unknown by protobuf-es) or an illegal tag.
        throw NOT_FAST;
    }
  }
  return floats === undefined ? t : withPackedFloats(t, floats);
}

/** One `inputs` map entry: key 1 and value 2, each once (anything else is not fast). */
function readInput(cursor: WireCursor, end: number, inputs: Record<string, Tensor>): void {
  const stop = cursor.lengthEnd(end);
  let key: string | undefined;
  let value: Tensor | undefined;
  while (cursor.pos < stop) {
    const tag = cursor.uint32(stop);
    if (tag === 0x0a && key === undefined) key = cursor.string(stop);
    else if (tag === 0x12 && value === undefined)
      value = readTensor(cursor, cursor.lengthEnd(stop));
    else throw NOT_FAST;
  }
  // setOwn's special case, left to protobuf-es.
  if (key === "__proto__") throw NOT_FAST;
  inputs[key ?? ""] = value ?? emptyTensor();
}

function readPredictRequest(bytes: Uint8Array): PredictRequest {
  const c = new WireCursor(bytes);
  const end = bytes.length;
  const m = emptyPredictRequest();
  while (c.pos < end) {
    const tag = c.uint32(end);
    if ((tag & 7) !== REQUEST_WIRE_TYPES[tag >>> 3]) throw NOT_FAST;
    switch (tag >>> 3) {
      case 1:
        m.model = c.string(end);
        break;
      case 2:
        m.version = c.uint32(end);
        break;
      case 3:
        readInput(c, end, m.inputs);
        break;
      case 4:
        m.outputs.push(c.string(end));
        break;
      case 5:
        m.requestId = c.string(end);
        break;
      case 6:
        m.rawOutputs = c.smallUint(end) !== 0;
        break;
      case 7:
        m.topK = c.uint32(end);
        break;
      case 8:
        m.priority = c.uint32(end) | 0;
        break;
      default:
        throw NOT_FAST;
    }
  }
  return m;
}

/**
 * The PredictRequest in `bytes` if the hand-written reader reads all of it, exactly as
 * `fromBinary` would; undefined when the bytes hold anything it leaves to protobuf-es.
 * Exported for the differential tests, which must see which path a case took.
 */
export function readPredictRequestFast(bytes: Uint8Array): PredictRequest | undefined {
  return fastOrUndefined(readPredictRequest, bytes);
}

/**
 * Decodes a binary PredictRequest into exactly the message protobuf-es's `fromBinary`
 * gives, reading the plain case (known fields with their usual wire types, ASCII text,
 * short varints, in-bounds lengths) with a hand-written reader, and anything else
 * (unknown fields, groups, negative or long varints, truncation, bad tags) with
 * `fromBinary` itself, so unknown fields are kept and bad bytes refused in its words.
 * The differences: tensors without raw data share one empty `rawData`, and a big packed
 * float_data run is kept as a Float32Array, `floatData` building its number[] on first
 * read (`packed-floats.ts`: `floatDataOf` hands the typed array to `decodeTensor`).
 * Why: ~4x less CPU than `fromBinary` for a one-row request (0.45 against 1.8 µs for 64
 * floats), which was ~5% of the main thread per gRPC Predict.
 * @throws what `fromBinary` throws for bytes that are not a PredictRequest.
 */
export function decodePredictRequest(bytes: Uint8Array): PredictRequest {
  return readPredictRequestFast(bytes) ?? fromBinary(PredictRequestSchema, bytes);
}

/**
 * `fromBinary(schema, bytes)`, through {@link decodePredictRequest} for PredictRequest and
 * `decodeModelInferRequest` for ModelInferRequest:
 * the one entry the lean gRPC path decodes unary requests by.
 */
export function decodeRequestBinary(schema: DescMessage, bytes: Uint8Array): Message {
  if (schema === PredictRequestSchema) return decodePredictRequest(bytes);
  if (schema === ModelInferRequestSchema) return decodeModelInferRequest(bytes);
  return fromBinary(schema, bytes);
}
