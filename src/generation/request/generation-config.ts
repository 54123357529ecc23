import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { failedPrecondition } from "../../errors/inferd-error.js";

/** What the engine takes from `config.json` and `generation_config.json`. */
export interface GenerationConfig {
  /** max_position_embeddings: prompt plus generated tokens never exceed it. */
  readonly contextWindow: number;
  /** generation_config eos_token_id (a number or a list), else config.json's; stop on any. */
  readonly eosTokenIds: readonly number[];
  readonly numHiddenLayers: number | undefined;
  readonly numKeyValueHeads: number | undefined;
  readonly headDim: number | undefined;
  readonly vocabSize: number | undefined;
}

/**
 * Reads a model version folder's `config.json` (required) and
 * `generation_config.json` (optional; its eos_token_id wins, as in transformers).
 * @throws InferdError failed_precondition when config.json is missing or has no
 *   max_position_embeddings.
 */
export async function loadGenerationConfig(dir: string): Promise<GenerationConfig> {
  const config = await readJson(join(dir, "config.json"), true);
  const generation = await readJson(join(dir, "generation_config.json"), false);
  const contextWindow = numberField(config, "max_position_embeddings");
  if (contextWindow === undefined || contextWindow <= 0) {
    throw failedPrecondition(
      `${join(dir, "config.json")} must set max_position_embeddings (the context window)`,
    );
  }
  const heads = numberField(config, "num_attention_heads");
  const hidden = numberField(config, "hidden_size");
  return {
    contextWindow,
    eosTokenIds: idList(generation.eos_token_id ?? config.eos_token_id),
    numHiddenLayers: numberField(config, "num_hidden_layers"),
    numKeyValueHeads: numberField(config, "num_key_value_heads") ?? heads,
    headDim:
      numberField(config, "head_dim") ??
      (heads !== undefined && hidden !== undefined ? hidden / heads : undefined),
    vocabSize: numberField(config, "vocab_size"),
  };
}

function idList(value: unknown): number[] {
  if (typeof value === "number") return [value];
  if (Array.isArray(value)) return value.filter((v): v is number => typeof v === "number");
  return [];
}

function numberField(json: Record<string, unknown>, key: string): number | undefined {
  const value = json[key];
  return typeof value === "number" ? value : undefined;
}

async function readJson(path: string, required: boolean): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (!required) return {};
    throw failedPrecondition(
      `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw failedPrecondition(
      `${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
