import { DataType, type Tensor } from "../../gen/inferd/v1/tensor_pb.js";

/** Tensors with fewer values than this are left as they are: cloning them is cheap. */
const MIN_PACKED_VALUES = 1024;

/**
 * Moves each big `inferd.v1.Tensor`'s typed values into `raw_data` (little-endian, the
 * host's order), in place, where that changes nothing a client can see: the field is
 * the dtype's own (float_data for FLOAT32, double_data for FLOAT64, int_data for INT32,
 * int64_data for INT64), it is the only data field set, and it holds exactly as many
 * values as the shape has elements, so every check `materializeValues` makes passes or
 * fails the same way on the raw bytes (a shape that disagrees with the model names no
 * field). Returns the new buffers, to transfer. Why: the codec worker hands a decoded
 * message back by structured clone, and deserializing an array of 4 M numbers costs the
 * event loop over a second, while a transferred buffer costs nothing.
 */
export function packTensorValues(message: object): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  visitTensors(message, (tensor) => {
    const packed = packed32or64(tensor);
    if (packed === undefined) return;
    tensor.floatData = [];
    tensor.doubleData = [];
    tensor.intData = [];
    tensor.int64Data = [];
    tensor.rawData = new Uint8Array(packed);
    buffers.push(packed);
  });
  return buffers;
}

function packed32or64(tensor: Tensor): ArrayBuffer | undefined {
  const { dtype } = tensor;
  const fields = [tensor.floatData, tensor.doubleData, tensor.intData, tensor.int64Data];
  const set = fields.filter((f) => f.length > 0);
  if (set.length !== 1 || tensor.rawData.length > 0 || tensor.boolData.length > 0) return;
  if (tensor.stringData.length > 0) return;
  const values = set[0] as unknown[];
  if (values.length < MIN_PACKED_VALUES || values.length !== elements(tensor.shape)) return;
  if (dtype === DataType.FLOAT32 && values === tensor.floatData)
    return Float32Array.from(tensor.floatData).buffer;
  if (dtype === DataType.FLOAT64 && values === tensor.doubleData)
    return Float64Array.from(tensor.doubleData).buffer;
  if (dtype === DataType.INT32 && values === tensor.intData)
    return Int32Array.from(tensor.intData).buffer;
  if (dtype === DataType.INT64 && values === tensor.int64Data)
    return BigInt64Array.from(tensor.int64Data).buffer;
  return undefined;
}

/** The element count of `shape`; NaN when a dim is negative (never equal to a count). */
function elements(shape: readonly number[]): number {
  let n = 1;
  for (const dim of shape) n *= dim < 0 ? Number.NaN : dim;
  return n;
}

/** Calls `visit` on every `inferd.v1.Tensor` in a decoded message, without entering value arrays. */
function visitTensors(node: unknown, visit: (tensor: Tensor) => void): void {
  if (typeof node !== "object" || node === null || ArrayBuffer.isView(node)) return;
  if (Array.isArray(node)) {
    if (typeof node[0] === "object") for (const item of node) visitTensors(item, visit);
    return;
  }
  if ((node as { $typeName?: unknown }).$typeName === "inferd.v1.Tensor") {
    visit(node as Tensor);
    return;
  }
  for (const value of Object.values(node)) visitTensors(value, visit);
}
