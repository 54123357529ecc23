import { toFloat16Array } from "../../tensor/float16.js";
import type { ExternalDataReader } from "../external-data.js";
import type { OnnxTensor } from "../onnx-graph.js";
import { dimsOf, ELEM, floatValues, rawTensor } from "./tensor-data.js";

/** The largest finite float16. */
export const FLOAT16_MAX = 65504;

/**
 * A float16 copy of a float32 tensor named `name`, values clamped to ±65504 first
 * (float32's "minus infinity" mask constants, −3.4e38, would otherwise become −inf,
 * and a fully masked row then softmaxes to NaN). Undefined when `tensor` is not a
 * float32 tensor held in the model or read through `external`.
 */
export function float16Copy(
  tensor: OnnxTensor,
  name: string,
  external?: ExternalDataReader,
): OnnxTensor | undefined {
  const values = floatValues(tensor, external);
  if (values === undefined) return undefined;
  for (let i = 0; i < values.length; i++) {
    values[i] = Math.max(-FLOAT16_MAX, Math.min(FLOAT16_MAX, values[i] ?? 0));
  }
  return rawTensor(name, ELEM.float16, dimsOf(tensor), toFloat16Array(values));
}
