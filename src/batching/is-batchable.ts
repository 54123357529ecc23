import type { TensorSpec } from "../tensor/host-tensor.js";

/**
 * True when requests to a model with these input specs can be stacked along dim 0:
 * there is at least one input and every input's first dimension is dynamic (-1).
 * A model with a fixed first dimension has no batch dimension, so the batcher passes
 * its requests through one by one.
 */
export function isBatchable(specs: readonly TensorSpec[]): boolean {
  return specs.length > 0 && specs.every((spec) => spec.dims.length > 0 && spec.dims[0] === -1);
}
