import { failedPrecondition } from "../errors/inferd-error.js";
import type { Servable } from "../registry/model-registry.js";
import type { VersionLoadRequest } from "../registry/version-load-request.js";
import type { LoadedModel, ModelRuntime } from "../runtime/model-runtime.js";

/** A "predict" servable: the runtime's LoadedModel, tagged for the registry. */
export type PredictServable = LoadedModel & Servable & { readonly kind: "predict" };

/** Options of `createLoadVersion`: the runtime, and the hooks that wrap a loaded Predict or generative model. */
export interface LoadVersionOptions {
  runtime: ModelRuntime;
  /**
   * Wraps a freshly loaded model before it is served: the place for dynamic
   * batching and warmup (`request.config.maxBatchSize`, `request.config.warmup`).
   * Identity when absent.
   */
  preparePredict?: (model: LoadedModel, request: VersionLoadRequest) => Promise<LoadedModel>;
  /** Builds the generation engine for kind "generate"; such models fail to load without it. */
  loadGenerative?: (request: VersionLoadRequest) => Promise<Servable>;
}

/** Tags a LoadedModel as a predict servable, keeping `pending` live (it is a getter). */
export function toPredictServable(model: LoadedModel): PredictServable {
  return {
    kind: "predict",
    inputs: model.inputs,
    outputs: model.outputs,
    get pending() {
      return model.pending;
    },
    run: (inputs, outputNames, signal, options) => model.run(inputs, outputNames, signal, options),
    dispose: () => model.dispose(),
  };
}

/**
 * The registry's `loadVersion`: the runtime's model (worker pool or inline, as
 * model.json's `execution` says) for "predict" models, `loadGenerative` for
 * "generate" models.
 */
export function createLoadVersion(
  options: LoadVersionOptions,
): (request: VersionLoadRequest) => Promise<Servable> {
  return async (request) => {
    if (request.kind === "generate") {
      if (!options.loadGenerative) {
        throw failedPrecondition(
          `model "${request.model}" is a generative model, but this server was built without text generation (no loadGenerative)`,
        );
      }
      return options.loadGenerative(request);
    }
    const loaded = await options.runtime.load({
      modelPath: request.modelPath,
      instanceCount: request.config.instanceCount,
      session: request.config.session,
      execution: request.config.execution,
      // "auto" times the largest batch the batcher will hand the model.
      batchRows: Math.max(1, request.config.maxBatchSize),
      signal: request.signal,
    });
    if (!options.preparePredict) return toPredictServable(loaded);
    try {
      return toPredictServable(await options.preparePredict(loaded, request));
    } catch (error) {
      await loaded.dispose();
      throw error;
    }
  };
}
