import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import type { GenerativeModel } from "../../src/generation/generative-model.js";
import {
  type GenerativeModelOptions,
  loadGenerativeModel,
} from "../../src/generation/load-generative-model.js";

/**
 * Loads the generative model of version folder `dir` (its model.onnx) once for the
 * enclosing describe block and disposes it after. Returns the model's getter, valid
 * inside tests and hooks that run after the load. `timeoutMs` bounds the load (a
 * real-size model on a loaded machine takes longer than the default hook timeout).
 */
export function useGenerativeModel(
  dir: string,
  options: Omit<GenerativeModelOptions, "dir" | "modelPath">,
  timeoutMs?: number,
): () => GenerativeModel {
  let model: GenerativeModel | undefined;
  beforeAll(async () => {
    model = await loadGenerativeModel({ dir, modelPath: join(dir, "model.onnx"), ...options });
  }, timeoutMs);
  afterAll(async () => {
    await model?.dispose();
  });
  return () => {
    if (model === undefined) throw new Error(`the model of ${dir} is not loaded (yet)`);
    return model;
  };
}
