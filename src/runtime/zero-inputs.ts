import {
  type DType,
  elementCount,
  type HostTensor,
  type TensorData,
  type TensorSpec,
} from "../tensor/host-tensor.js";
import type { TensorMap } from "./model-runtime.js";

function zeros(dtype: DType, count: number): TensorData {
  switch (dtype) {
    case "float32":
      return new Float32Array(count);
    case "float64":
      return new Float64Array(count);
    case "float16":
      return new Uint16Array(count);
    case "int8":
      return new Int8Array(count);
    case "int16":
      return new Int16Array(count);
    case "int32":
      return new Int32Array(count);
    case "int64":
      return new BigInt64Array(count);
    case "uint8":
    case "bool":
      return new Uint8Array(count);
    case "string":
      return new Array<string>(count).fill("");
  }
}

/**
 * Zero-filled inputs of `rows` rows: a dynamic first dimension (the batch) becomes
 * `rows`, every other dynamic dimension 1, fixed dimensions stay. What "auto" times to
 * decide where a model runs (the largest batch it will be run with), and, with one
 * row, a version's warmup run before it takes traffic.
 */
export function zeroInputs(specs: readonly TensorSpec[], rows: number): TensorMap {
  const inputs: Record<string, HostTensor> = {};
  for (const spec of specs) {
    const dims = spec.dims.map((d, axis) => (d >= 0 ? d : axis === 0 ? rows : 1));
    inputs[spec.name] = { dtype: spec.dtype, dims, data: zeros(spec.dtype, elementCount(dims)) };
  }
  return inputs;
}
