import type { TensorSpec } from "../tensor/host-tensor.js";
import {
  type DType,
  elementCount,
  type HostTensor,
  type TensorData,
} from "../tensor/host-tensor.js";

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
 * Zero-filled inputs of one row (every dynamic dimension set to 1) for a warmup
 * run: the first `session.run` allocates arenas and picks kernels, and a user's
 * first request should not pay for that.
 */
export function warmupInputs(specs: readonly TensorSpec[]): Record<string, HostTensor> {
  const inputs: Record<string, HostTensor> = {};
  for (const spec of specs) {
    const dims = spec.dims.map((d) => (d < 0 ? 1 : d));
    inputs[spec.name] = { dtype: spec.dtype, dims, data: zeros(spec.dtype, elementCount(dims)) };
  }
  return inputs;
}
