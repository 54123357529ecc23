import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { hasDecoderInputs } from "../onnx/decoder-names.js";
import { readOnnxInputNames } from "../onnx/read-onnx-input-names.js";
import { assertFolder, type FolderScanOptions, listFolders } from "./folder-entries.js";
import { defaultModelConfig, type ModelConfig, parseModelConfig } from "./model-config.js";
import type { ModelKind } from "./model-kind.js";
import {
  exists,
  MODEL_FILE,
  type ModelLayout,
  type RepositoryScanOptions,
  singleModelName,
  versionDir,
} from "./model-layout.js";

/** The optional per-model configuration file. */
export const CONFIG_FILE = "model.json";

interface ScannedModelBase {
  readonly name: string;
  /** Absolute or repository-relative folder `<repo>/<name>` (the repository itself for a single model). */
  readonly dir: string;
  /** Where the versions are: see {@link ModelLayout} and `versionDir`. */
  readonly layout: ModelLayout;
  /** Positive integer version folders, ascending (`[1]` for a `single-file` model). */
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

/** How a scan reads the repository: its layout, and symlinks (see `folder-entries.ts`). */
export type ScanOptions = RepositoryScanOptions & FolderScanOptions;

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
 * Reads one model: `<repository>/<name>`, or the repository itself when it is a single
 * model's folder; symlinks followed as `options` says (see `listFolders`). Never throws
 * for a bad model.json; it is reported in `configError`.
 * @throws Error for a name that is not {@link isModelName} or not the single model's,
 *   or a folder that cannot be read; `RefusedFolderError` for a symlink not followed.
 */
export async function scanModel(
  repository: string,
  name: string,
  options: ScanOptions = {},
): Promise<ScannedModel> {
  const single = await singleModelName(repository, options);
  if (single !== undefined) {
    if (name !== single) throw new Error(`the repository is the folder of model "${single}"`);
    return scanFolder(repository, "", name, options);
  }
  if (!isModelName(name)) throw new Error(`"${name}" is not a model folder name`);
  await assertFolder(repository, name, options);
  return scanFolder(repository, name, name, options);
}

/**
 * One model's folder, `inside` the repository ("" for a single model's folder). A
 * single model's folder without version folders but with a `model.onnx` serves that
 * file as version 1 (`single-file`); version folders win when both are there, so that
 * adding `2/` beside a bare file is not ambiguous.
 */
async function scanFolder(
  repository: string,
  inside: string,
  name: string,
  options: ScanOptions,
): Promise<ScannedModel> {
  const asked: ModelLayout = inside === "" ? "single" : "repository";
  const dir = inside === "" ? repository : join(repository, inside);
  const numbered = await versionFolders(repository, inside, options);
  const bare = asked === "single" && numbered.length === 0 && (await exists(join(dir, MODEL_FILE)));
  const layout: ModelLayout = bare ? "single-file" : asked;
  const versions = bare ? [1] : numbered;
  const configText = await readFile(join(dir, CONFIG_FILE), "utf8").catch(() => undefined);
  // Messages name the file inside the repository: clients see them (GetModel, LoadModel).
  const configName = asked === "repository" ? `${name}/${CONFIG_FILE}` : CONFIG_FILE;
  const base = { name, dir, layout, versions, configText };
  let config: ModelConfig;
  try {
    config =
      configText === undefined
        ? defaultModelConfig()
        : parseModelConfig(parseJson(configText, configName), configName);
  } catch (error) {
    const configError = error instanceof Error ? error.message : String(error);
    return { ...base, kind: "predict", configError };
  }
  const newest = versions.at(-1);
  const detected =
    newest === undefined ? "predict" : await detectKind(versionDir({ dir, layout }, newest));
  return { ...base, kind: config.kind ?? detected, config };
}

/** The version folders of a model, ascending; other folders are reported skipped. */
async function versionFolders(
  repository: string,
  inside: string,
  options: FolderScanOptions,
): Promise<number[]> {
  const versions: number[] = [];
  for (const folder of await listFolders(repository, inside, options)) {
    if (VERSION_DIR.test(folder)) versions.push(Number(folder));
    else if (inside !== "") {
      options.onSkip?.({ path: `${inside}/${folder}`, reason: NOT_A_VERSION, hidden: false });
    }
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
 * symlinks not followed are skipped and reported (see `listFolders`); or its one model
 * when it is a single model's folder (see {@link RepositoryScanOptions}). A bad model
 * fails only itself; a missing repository throws.
 */
export async function scanRepository(
  repository: string,
  options: ScanOptions = {},
): Promise<ScannedModel[]> {
  const single = await singleModelName(repository, options);
  if (single !== undefined) return [await scanFolder(repository, "", single, options)];
  const names: string[] = [];
  for (const name of await listFolders(repository, "", options)) {
    if (isModelName(name)) names.push(name);
    else options.onSkip?.({ path: name, reason: "not a model name (a backslash)", hidden: false });
  }
  names.sort();
  // listFolders has vetted each name: no second look (a poll races with edits to the folder).
  return Promise.all(names.map((name) => scanFolder(repository, name, name, options)));
}
