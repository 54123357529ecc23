import type { Servable } from "../registry/model-registry.js";
import type { LoadedModel } from "../runtime/model-runtime.js";

/**
 * Guard for a servable that can run tensors: registry servables of kind "predict"
 * also implement {@link LoadedModel}. Checked structurally so that a misconfigured
 * registry fails with a clear internal error instead of a TypeError.
 */
export function isLoadedModel(servable: Servable): servable is Servable & LoadedModel {
  const candidate = servable as Partial<LoadedModel>;
  return servable.kind === "predict" && typeof candidate.run === "function";
}
