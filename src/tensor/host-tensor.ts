/**
 * Element types, named as onnxruntime names them, so that a {@link HostTensor}
 * maps onto an ORT tensor without translation.
 */
export type DType =
  | "float32"
  | "float64"
  | "float16"
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "uint8"
  | "bool"
  | "string";

/** Every element type the core handles, in the order of ONNX's own numbering where it has one. */
export const DTYPES: readonly DType[] = [
  "float32",
  "float64",
  "float16",
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "bool",
  "string",
];

/**
 * The typed array that holds each dtype. float16 is held as raw IEEE half bits in a
 * Uint16Array (what onnxruntime-node accepts); bool as 0/1 bytes.
 */
export interface DTypeArrays {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  bool: Uint8Array;
  string: string[];
}

/** The typed array (or string array) that holds a tensor's elements. */
export type TensorData = DTypeArrays[DType];

/**
 * A dense row-major tensor in host memory: the one tensor type the core passes
 * around. Plain data (no methods) so that it can cross worker threads with
 * `postMessage`, transferring the underlying ArrayBuffer.
 */
export interface HostTensor {
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

/** Bytes per element, or 0 for strings. */
export function bytesPerElement(dtype: DType): number {
  switch (dtype) {
    case "float64":
    case "int64":
      return 8;
    case "float32":
    case "int32":
      return 4;
    case "float16":
    case "int16":
      return 2;
    case "int8":
    case "uint8":
    case "bool":
      return 1;
    case "string":
      return 0;
  }
}

/** Number of elements a shape holds (1 for a scalar). */
export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Name, dtype and shape of a model input or output; -1 marks a dynamic dimension. */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly number[];
  /** Symbolic names of dynamic dimensions ("batch_size"), "" where none. */
  readonly dimNames: readonly string[];
}

/** Guard for {@link DType}: whether a string names an element type the core handles. */
export function isDType(value: unknown): value is DType {
  return typeof value === "string" && (DTYPES as readonly string[]).includes(value);
}
