import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { failedPrecondition, invalidArgument } from "../errors/inferd-error.js";

/** The `tokenizer_config.json` fields inferd reads; the rest passes through untouched. */
export interface TokenizerConfigJson {
  readonly bos_token?: string | { content: string } | null;
  readonly eos_token?: string | { content: string } | null;
  readonly add_bos_token?: boolean;
  readonly clean_up_tokenization_spaces?: boolean;
  readonly chat_template?: string | readonly { name: string; template: string }[];
  readonly [key: string]: unknown;
}

/**
 * A model's tokenizer: Hugging Face `tokenizer.json` semantics (normalizer, BPE with
 * byte fallback, post-processor, decoder) via `@huggingface/tokenizers`, plus the
 * `tokenizer_config.json` switches that transformers applies on top.
 */
export interface TextTokenizer {
  readonly vocabSize: number;
  readonly bosToken: string | undefined;
  readonly eosToken: string | undefined;
  readonly bosTokenId: number | undefined;
  readonly config: TokenizerConfigJson;
  /** Ids of `text`; `addSpecialTokens` adds BOS (unless `add_bos_token` is false). */
  encode(text: string, addSpecialTokens: boolean): number[];
  /** Text of `ids`, honouring `clean_up_tokenization_spaces`. */
  decode(ids: readonly number[], skipSpecialTokens: boolean): string;
  /** The vocabulary piece of `id` ("▁the", "<0xC3>"), "" when out of range. */
  idToToken(id: number): string;
}

/** Loads `tokenizer.json` and `tokenizer_config.json` from a model version folder. */
export async function loadTextTokenizer(dir: string): Promise<TextTokenizer> {
  const json = await readJson(join(dir, "tokenizer.json"));
  const config = (await readJson(join(dir, "tokenizer_config.json"))) as TokenizerConfigJson;
  return createTextTokenizer(json, config);
}

/** Builds a {@link TextTokenizer} from already parsed files. */
export function createTextTokenizer(json: object, config: TokenizerConfigJson): TextTokenizer {
  const tokenizer = new Tokenizer(json, config);
  const bosToken = tokenText(config.bos_token);
  const eosToken = tokenText(config.eos_token);
  const bosTokenId = bosToken === undefined ? undefined : tokenizer.token_to_id(bosToken);
  const vocabSize = tokenizer.get_vocab(true).size;
  const addBos = config.add_bos_token !== false;
  const cleanUp = config.clean_up_tokenization_spaces === true;
  return {
    vocabSize,
    bosToken,
    eosToken,
    bosTokenId,
    config,
    encode(text, addSpecialTokens) {
      const ids = tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
      // The post-processor always prepends BOS; add_bos_token false in the config wins.
      if (addSpecialTokens && !addBos && bosTokenId !== undefined && ids[0] === bosTokenId) {
        return ids.slice(1);
      }
      return ids;
    },
    decode(ids, skipSpecialTokens) {
      for (const id of ids) {
        if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
          throw invalidArgument(`token id ${id} is outside the vocabulary [0, ${vocabSize})`);
        }
      }
      return tokenizer.decode([...ids], {
        skip_special_tokens: skipSpecialTokens,
        clean_up_tokenization_spaces: cleanUp,
      });
    },
    idToToken: (id) => tokenizer.id_to_token(id) ?? "",
  };
}

function tokenText(value: string | { content: string } | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  return typeof value === "string" ? value : value.content;
}

async function readJson(path: string): Promise<object> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as object;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw failedPrecondition(`cannot read ${path}: ${reason}`);
  }
}
