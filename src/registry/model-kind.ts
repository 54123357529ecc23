/**
 * What a model version serves: Predict (tensors) or Generate (tokens).
 *
 * A leaf of its own because both the model.json parser (model-config.ts) and the
 * registry interface (model-registry.ts) need it, and model-registry.ts needs
 * `ModelConfig` back: keeping it in either would make the two import each other.
 */
export type ModelKind = "predict" | "generate";
