import { invalidArgument } from "../errors/inferd-error.js";
import { toFloat16Array } from "./float16.js";
import { bytesPerElement, type DType, type TensorData } from "./host-tensor.js";
import type { TensorValueKind, TensorValues } from "./tensor-input.js";

/** Wire field name of each value kind, for error messages. */
export const FIELD_NAMES: Readonly<Record<TensorValueKind, string>> = {
  float: "float_data",
  double: "double_data",
  int: "int_data",
  int64: "int64_data",
  bool: "bool_data",
  string: "string_data",
  raw: "raw_data",
};

/** Which dtypes each data field can carry (see tensor.proto). */
const CARRIES: Readonly<Record<TensorValueKind, readonly DType[]>> = {
  float: ["float32", "float16"],
  double: ["float64"],
  int: ["int8", "int16", "int32", "uint8", "int64"],
  int64: ["int64"],
  bool: ["bool"],
  string: ["string"],
  raw: ["float32", "float64", "float16", "int8", "int16", "int32", "int64", "uint8", "bool"],
};

const INT_RANGES: Partial<Record<DType, readonly [number, number]>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint8: [0, 255],
  int32: [-2147483648, 2147483647],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function checkIntRange(name: string, dtype: DType, data: readonly number[]): void {
  const range = INT_RANGES[dtype];
  if (range === undefined) return;
  const [lo, hi] = range;
  const index = data.findIndex((v) => !Number.isInteger(v) || v < lo || v > hi);
  if (index >= 0) {
    throw invalidArgument(
      `input "${name}": int_data[${index}] = ${data[index]} is out of range for ${dtype} [${lo}, ${hi}]`,
    );
  }
}

/**
 * The wire bytes as an ArrayBuffer and offset a `dtype` view can start at: the
 * bytes' own buffer when their offset is a multiple of the element size (no copy:
 * protobuf-es hands out `bytes` fields as views of the request body, which nothing
 * reuses), else one copy into a fresh buffer. Never `bytes.slice()`: on a Node
 * Buffer that is a view of the whole pool, not a copy.
 */
function alignedBytes(dtype: DType, bytes: Uint8Array): Uint8Array {
  const aligned = bytes.byteOffset % bytesPerElement(dtype) === 0;
  return aligned && bytes.buffer instanceof ArrayBuffer
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : Uint8Array.prototype.slice.call(bytes);
}

function fromRaw(dtype: DType, bytes: Uint8Array): TensorData {
  // Assumes a little-endian host (every platform Node supports in practice).
  if (dtype === "bool") return Uint8Array.from(bytes, (b) => (b === 0 ? 0 : 1));
  const view = alignedBytes(dtype, bytes);
  const { buffer, byteOffset } = view;
  const n = view.byteLength / bytesPerElement(dtype);
  switch (dtype) {
    case "float32":
      return new Float32Array(buffer, byteOffset, n);
    case "float64":
      return new Float64Array(buffer, byteOffset, n);
    case "float16":
      return new Uint16Array(buffer, byteOffset, n);
    case "int8":
      return new Int8Array(buffer, byteOffset, n);
    case "int16":
      return new Int16Array(buffer, byteOffset, n);
    case "int32":
      return new Int32Array(buffer, byteOffset, n);
    case "int64":
      return new BigInt64Array(buffer, byteOffset, n);
    case "uint8":
      return view;
    case "string":
      throw new Error("unreachable: raw_data cannot carry strings");
  }
}

type NumberArray = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array;

/**
 * `out` filled with `data`, converted as `TypedArray.from` converts. Why a loop: `from`
 * goes through the iterator protocol, ~3x slower on a one-row request (64 floats:
 * 1.7 µs against 0.5 µs), and every call with typed fields pays it.
 */
function filled<T extends NumberArray>(out: T, data: ArrayLike<number>): T {
  for (let i = 0; i < data.length; i++) out[i] = data[i] as number;
  return out;
}

function fromNumbers(dtype: DType, data: ArrayLike<number>): TensorData {
  const n = data.length;
  switch (dtype) {
    case "float32":
      return filled(new Float32Array(n), data);
    case "float64":
      return filled(new Float64Array(n), data);
    case "float16":
      return toFloat16Array(data);
    case "int8":
      return filled(new Int8Array(n), data);
    case "int16":
      return filled(new Int16Array(n), data);
    case "int32":
      return filled(new Int32Array(n), data);
    case "int64":
      return BigInt64Array.from(data, (v) => BigInt(v));
    case "uint8":
      return filled(new Uint8Array(n), data);
    default:
      throw new Error(`unreachable: numbers for ${dtype}`);
  }
}

/**
 * A request's Float32Array as the model's input: as is when it is a view into a bigger
 * buffer (the request's bytes, which a run hands to a worker by copying exactly its
 * bytes, never by moving that buffer), else a copy, because a run may move a buffer its
 * input spans whole to a worker, and the request keeps its values (the message's
 * `floatData` reads them).
 */
function ownedBy(data: Float32Array): Float32Array {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data.slice() : data;
}

function valueCount(values: TensorValues): number {
  return values.kind === "raw" ? values.bytes.length : values.data.length;
}

/**
 * Turns wire values into the typed array of `dtype`, holding exactly `count`
 * elements. Throws invalid_argument naming the input when the field cannot carry the
 * dtype, the element (or byte) count does not match, or an int is out of range.
 */
export function materializeValues(
  name: string,
  dtype: DType,
  values: TensorValues,
  count: number,
): TensorData {
  if (!CARRIES[values.kind].includes(dtype)) {
    const fields = (Object.keys(CARRIES) as TensorValueKind[]).filter((k) =>
      CARRIES[k].includes(dtype),
    );
    throw invalidArgument(
      `input "${name}": ${FIELD_NAMES[values.kind]} cannot carry ${dtype}; use ${fields.map((k) => FIELD_NAMES[k]).join(" or ")}`,
    );
  }
  const expected = values.kind === "raw" ? count * bytesPerElement(dtype) : count;
  if (valueCount(values) !== expected) {
    const unit = values.kind === "raw" ? `bytes (${count} x ${dtype})` : "values";
    throw invalidArgument(
      `input "${name}": the shape needs ${expected} ${unit} but ${FIELD_NAMES[values.kind]} has ${valueCount(values)}`,
    );
  }
  switch (values.kind) {
    case "raw":
      return fromRaw(dtype, values.bytes);
    case "int64":
      return BigInt64Array.from(values.data);
    case "bool":
      return Uint8Array.from(values.data, (b) => (b ? 1 : 0));
    case "string":
      return [...values.data];
    case "int":
      checkIntRange(name, dtype, values.data);
      return fromNumbers(dtype, values.data);
    case "float":
      if (dtype === "float32" && values.data instanceof Float32Array) return ownedBy(values.data);
      return fromNumbers(dtype, values.data);
    default:
      return fromNumbers(dtype, values.data);
  }
}
