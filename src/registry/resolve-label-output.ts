import type { TensorSpec } from "../tensor/host-tensor.js";
import type { ModelConfig } from "./model-config.js";

/**
 * The output that carries class scores for `labels`: `label_output` when model.json
 * names it, else the first float output whose last dimension equals the number of
 * labels. Undefined when the model has no labels or no output fits, so the caller
 * returns raw tensors instead of guessing.
 */
export function resolveLabelOutput(
  config: ModelConfig,
  outputs: readonly TensorSpec[],
): string | undefined {
  if (config.labels.length === 0) return undefined;
  if (config.labelOutput !== undefined) return config.labelOutput;
  const match = outputs.find(
    (o) =>
      (o.dtype === "float32" || o.dtype === "float64" || o.dtype === "float16") &&
      o.dims.at(-1) === config.labels.length,
  );
  return match?.name;
}
