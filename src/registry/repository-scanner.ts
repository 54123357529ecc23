import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { hasDecoderInputs } from "../onnx/decoder-names.js";
import { readOnnxInputNames } from "../onnx/read-onnx-input-names.js";
import { assertFolder, type FolderScanOptions, listFolders } from "./folder-entries.js";
import { defaultModelConfig, type ModelConfig, parseModelConfig } from "./model-config.js";
import type { ModelKind } from "./model-kind.js";

/** The model file each version folder holds. */
export const MODEL_FILE = "model.onnx";
/** The optional per-model configuration file. */
export const CONFIG_FILE = "model.json";

interface ScannedModelBase {
  readonly name: string;
  /** Absolute or repository-relative folder `<repo>/<name>`. */
  readonly dir: string;
  /** Positive integer version folders, ascending. */
  readonly versions: readonly number[];
  readonly kind: ModelKind;
  /** model.json as read (undefined when absent): compared across polls to detect edits. */
  readonly configText: string | undefined;
}

/** One model folder: its config, or why the config is unusable (which fails only this model). */
export type ScannedModel =
  | (ScannedModelBase & { readonly config: ModelConfig; readonly configError?: undefined })
  | (ScannedModelBase & { readonly config?: undefined; readonly configError: string });

const VERSION_DIR = /^[1-9][0-9]*$/;

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Generative when the version folder has a tokenizer and an HF config next to an ONNX
 * graph taking `input_ids` and a KV cache (`past_key_values.*`). An unreadable graph
 * counts as predict; the load will report the real problem.
 */
export async function detectKind(versionDir: string): Promise<ModelKind> {
  const sidecars = await Promise.all(
    ["tokenizer.json", "config.json"].map((f) => exists(join(versionDir, f))),
  );
  if (!sidecars.every(Boolean)) return "predict";
  const inputs = await readOnnxInputNames(join(versionDir, MODEL_FILE)).catch((): string[] => []);
  return hasDecoderInputs(inputs) ? "generate" : "predict";
}

/**
 * True for a name that can only mean a folder directly inside the repository, as
 * `scanRepository` lists them: not empty, no path separator, no leading dot (so not
 * "." or ".."). Anything else could reach outside the repository.
 */
export function isModelName(name: string): boolean {
  return name !== "" && !/[/\\\0]/.test(name) && !name.startsWith(".");
}

/**
 * Reads one model folder, symlinks followed as `options` says (see {@link listFolders}).
 * Never throws for a bad model.json; it is reported in `configError`.
 * @throws Error for a name that is not {@link isModelName}, or a folder that cannot be
 * read; `RefusedFolderError` for a symlink the scan does not follow.
 */
export async function scanModel(
  repository: string,
  name: string,
  options: FolderScanOptions = {},
): Promise<ScannedModel> {
  if (!isModelName(name)) throw new Error(`"${name}" is not a model folder name`);
  await assertFolder(repository, name, options);
  return readModel(repository, name, options);
}

/** Reads a model folder already known to be one the scan takes. */
async function readModel(
  repository: string,
  name: string,
  options: FolderScanOptions,
): Promise<ScannedModel> {
  const dir = join(repository, name);
  const versions = await versionFolders(repository, name, options);
  const configPath = join(dir, CONFIG_FILE);
  const configText = await readFile(configPath, "utf8").catch(() => undefined);
  // Messages name the file inside the repository: clients see them (GetModel, LoadModel).
  const configName = `${name}/${CONFIG_FILE}`;
  let config: ModelConfig;
  try {
    config =
      configText === undefined
        ? defaultModelConfig()
        : parseModelConfig(parseJson(configText, configName), configName);
  } catch (error) {
    const configError = error instanceof Error ? error.message : String(error);
    return { name, dir, versions, kind: "predict", configText, configError };
  }
  const newest = versions.at(-1);
  const detected = newest === undefined ? "predict" : await detectKind(join(dir, String(newest)));
  return { name, dir, versions, kind: config.kind ?? detected, configText, config };
}

/** The version folders of a model, ascending; other folders are reported skipped. */
async function versionFolders(
  repository: string,
  name: string,
  options: FolderScanOptions,
): Promise<number[]> {
  const versions: number[] = [];
  for (const folder of await listFolders(repository, name, options)) {
    if (VERSION_DIR.test(folder)) versions.push(Number(folder));
    else options.onSkip?.({ path: `${name}/${folder}`, reason: NOT_A_VERSION, hidden: false });
  }
  return versions.sort((a, b) => a - b);
}

const NOT_A_VERSION = "not a version folder (a version is a whole number from 1: 1, 2, ...)";

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

/**
 * Lists every model folder of the repository, sorted by name: hidden folders and
 * symlinks not followed are skipped and reported (see {@link listFolders}). A bad
 * model fails only itself; a missing repository throws.
 */
export async function scanRepository(
  repository: string,
  options: FolderScanOptions = {},
): Promise<ScannedModel[]> {
  const names: string[] = [];
  for (const name of await listFolders(repository, "", options)) {
    if (isModelName(name)) names.push(name);
    else options.onSkip?.({ path: name, reason: "not a model name (a backslash)", hidden: false });
  }
  names.sort();
  // listFolders has vetted each name: no second look (a poll races with edits to the folder).
  return Promise.all(names.map((name) => readModel(repository, name, options)));
}
