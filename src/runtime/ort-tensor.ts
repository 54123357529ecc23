import * as ort from "onnxruntime-node";
import { type DType, type HostTensor, isDType, type TensorData } from "../tensor/host-tensor.js";

/**
 * Wraps a {@link HostTensor} as an ORT tensor without copying: ORT uses the same
 * typed array (float16 as Uint16Array bits, bool as 0/1 bytes in a Uint8Array,
 * which is what onnxruntime-node expects for both).
 */
export function toOrtTensor(tensor: HostTensor): ort.Tensor {
  // The union of typed arrays does not narrow per dtype; ORT checks the pairing at run time.
  return new ort.Tensor(tensor.dtype, tensor.data as ort.Tensor.DataType, [...tensor.dims]);
}

/**
 * Unwraps an ORT tensor into a {@link HostTensor}, sharing its typed array.
 * @throws Error when ORT produced an element type inferd has no {@link DType} for.
 */
export function fromOrtTensor(tensor: ort.Tensor): HostTensor {
  const dtype = toDType(tensor.type, "output tensor");
  return { dtype, dims: [...tensor.dims], data: tensor.data as TensorData };
}

/**
 * Maps an ORT element type name onto our {@link DType}; the names coincide, but ORT
 * has more (uint16, uint32, uint64, int4, ...) that the API cannot carry.
 * @param what names the tensor for the error message.
 */
export function toDType(ortType: string, what: string): DType {
  if (isDType(ortType)) return ortType;
  throw new Error(
    `${what} has element type "${ortType}", which inferd does not support (supported: float32, float64, float16, int8, int16, int32, int64, uint8, bool, string)`,
  );
}
