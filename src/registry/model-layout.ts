import { access } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";

/** The model file each version folder holds. */
export const MODEL_FILE = "model.onnx";

/**
 * Where a model's versions sit on disk.
 *
 * - `repository`: `<repository>/<name>/<version>/model.onnx`, one folder per model
 *   (Triton's layout, the default).
 * - `single`: `<repository>/<version>/model.onnx`, the repository is one model's folder
 *   (KServe's `/mnt/models/1/model.onnx`).
 * - `single-file`: `<repository>/model.onnx` is version 1 of the one model (KServe's
 *   `/mnt/models/model.onnx`); only when there is no version folder beside it.
 */
export type ModelLayout = "repository" | "single" | "single-file";

/** What {@link versionDir} and {@link repositoryOf} read from a scanned model. */
export interface LaidOutModel {
  /** The model's folder: `<repository>/<name>`, or the repository itself for a single model. */
  readonly dir: string;
  readonly layout: ModelLayout;
}

/**
 * The folder holding `model.onnx` (and a generative model's tokenizer files) of one
 * version: the version folder, or for `single-file` the model's folder itself.
 */
export function versionDir(model: LaidOutModel, version: number): string {
  return model.layout === "single-file" ? model.dir : join(model.dir, String(version));
}

/** The repository folder the model was found in (what messages to clients leave out). */
export function repositoryOf(model: LaidOutModel): string {
  return model.layout === "repository" ? dirname(model.dir) : model.dir;
}

/** The name a single-model repository gets when `--model-name` is not given. */
export const FALLBACK_SINGLE_MODEL_NAME = "model";

/**
 * The name of the one model in a repository holding `model.onnx` at its top, when no
 * `--model-name` says it: the repository folder's own name (`./iris` serves "iris"),
 * or "model" when that is no usable name (the root folder).
 */
export function defaultSingleModelName(repository: string): string {
  const name = basename(resolve(repository));
  return name === "" || name.startsWith(".") ? FALLBACK_SINGLE_MODEL_NAME : name;
}

/** How the repository is read: as a folder of model folders, or as one model's folder. */
export interface RepositoryScanOptions {
  /**
   * Serve the repository as ONE model of this name (`--model-name`): `model.onnx` at
   * its top, or version folders `1/model.onnx`... Unset: the repository is one model
   * only if it holds `model.onnx` at its top, named by {@link defaultSingleModelName}.
   */
  readonly modelName?: string | undefined;
}

/**
 * The one model's name when the repository is a single model's folder (see
 * {@link RepositoryScanOptions}), undefined when it is a folder of model folders.
 */
export async function singleModelName(
  repository: string,
  options: RepositoryScanOptions = {},
): Promise<string | undefined> {
  if (options.modelName !== undefined) return options.modelName;
  const bare = await exists(join(repository, MODEL_FILE));
  return bare ? defaultSingleModelName(repository) : undefined;
}

/** True when `path` exists (any kind of entry). */
export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
