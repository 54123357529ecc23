import onnxProto from "onnx-proto";
import type { ExternalDataReader } from "../external-data.js";
import type { OnnxTensor } from "../onnx-graph.js";

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;

/** ONNX element types the quantizers read and write. */
export const ELEM = {
  float: DataType.FLOAT,
  uint8: DataType.UINT8,
  int8: DataType.INT8,
  float16: DataType.FLOAT16,
} as const;

/** Whether the quantizers can read `tensor`'s float32 values (see {@link floatValues}). */
export function hasFloatValues(tensor: OnnxTensor, external?: ExternalDataReader): boolean {
  if (tensor.dataType !== DataType.FLOAT) return false;
  return tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL || external !== undefined;
}

/**
 * The values of a float32 initializer (raw bytes or `float_data` in the model, or its
 * bytes in an external data file when `external` reads them), copied into a fresh
 * array; undefined for other types, and for external data without a reader, which
 * the quantizers then leave alone.
 */
export function floatValues(
  tensor: OnnxTensor,
  external?: ExternalDataReader,
): Float32Array | undefined {
  if (!hasFloatValues(tensor, external)) return undefined;
  if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL && external) {
    const bytes = external.read(tensor);
    return new Float32Array(bytes.buffer, 0, bytes.length >> 2);
  }
  const raw = tensor.rawData;
  if (raw && raw.length > 0) {
    // protobufjs hands out a view into the model's bytes, possibly unaligned: copy.
    const copy = new Uint8Array(raw);
    return new Float32Array(copy.buffer, 0, copy.length / 4);
  }
  return Float32Array.from(tensor.floatData ?? []);
}

/** The dimensions of an initializer as numbers (protobufjs decodes int64 as Long). */
export function dimsOf(tensor: OnnxTensor): number[] {
  return (tensor.dims ?? []).map((d) => (typeof d === "number" ? d : d.toNumber()));
}

/** An initializer of `dataType` holding `data`'s bytes (little-endian, as ONNX raw data is). */
export function rawTensor(
  name: string,
  dataType: number,
  dims: readonly number[],
  data: ArrayBufferView,
): OnnxTensor {
  const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return onnx.TensorProto.create({ name, dataType, dims: [...dims], rawData });
}
