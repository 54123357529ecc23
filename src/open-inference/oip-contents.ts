import type { HostTensor } from "../tensor/host-tensor.js";
import type { OipContents } from "./oip-tensor.js";

const utf8 = new TextEncoder();

/**
 * A tensor's elements in the protocol's typed form (the field of its datatype):
 * FP32, FP64, INT8/16/32 as `int`, UINT8 as `uint`, INT64 as bigint `int64`, BOOL,
 * BYTES as UTF-8. Undefined for FP16, which the protocol carries only raw.
 */
export function toOipContents(tensor: HostTensor): OipContents | undefined {
  const { data } = tensor;
  switch (tensor.dtype) {
    case "float32":
      return { fp32: Array.from(data as Float32Array) };
    case "float64":
      return { fp64: Array.from(data as Float64Array) };
    case "int8":
    case "int16":
    case "int32":
      return { int: Array.from(data as ArrayLike<number>) };
    case "uint8":
      return { uint: Array.from(data as Uint8Array) };
    case "int64":
      return { int64: Array.from(data as BigInt64Array) };
    case "bool":
      return { bool: Array.from(data as Uint8Array, (b) => b !== 0) };
    case "string":
      return { bytes: (data as string[]).map((s) => utf8.encode(s)) };
    case "float16":
      return undefined;
  }
}
