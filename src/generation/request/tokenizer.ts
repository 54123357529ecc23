import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { failedPrecondition, invalidArgument } from "../../errors/inferd-error.js";

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
  /** The longest vocabulary piece, in UTF-16 units: no token covers more of the text. */
  readonly maxTokenChars: number;
  /** Ids of `text`; `addSpecialTokens` adds BOS (unless `add_bos_token` is false). */
  encode(text: string, addSpecialTokens: boolean): number[];
  /** Text of `ids`, honouring `clean_up_tokenization_spaces`. */
  decode(ids: readonly number[], skipSpecialTokens: boolean): string;
  /** The vocabulary piece of `id` ("▁the", "<0xC3>"), "" when out of range. */
  idToToken(id: number): string;
}

/**
 * Loads `tokenizer.json` and `tokenizer_config.json` from a model version folder; `config`
 * when the caller already read the latter ({@link loadTokenizerConfig}).
 */
export async function loadTextTokenizer(
  dir: string,
  config?: TokenizerConfigJson,
): Promise<TextTokenizer> {
  const json = await readJson(join(dir, "tokenizer.json"));
  return createTextTokenizer(json, config ?? (await loadTokenizerConfig(dir)));
}

/**
 * Loads `tokenizer_config.json` alone (transformers' switches, the chat template): a
 * small file, unlike `tokenizer.json` whose vocabulary takes ~0.1 s of CPU to build.
 */
export async function loadTokenizerConfig(dir: string): Promise<TokenizerConfigJson> {
  return (await readJson(join(dir, "tokenizer_config.json"))) as TokenizerConfigJson;
}

/** Builds a {@link TextTokenizer} from already parsed files. */
export function createTextTokenizer(json: object, config: TokenizerConfigJson): TextTokenizer {
  const tokenizer = new Tokenizer(json, config);
  const bosToken = tokenText(config.bos_token);
  const eosToken = tokenText(config.eos_token);
  const bosTokenId = bosToken === undefined ? undefined : tokenizer.token_to_id(bosToken);
  const vocab = tokenizer.get_vocab(true);
  const vocabSize = vocab.size;
  let maxTokenChars = 1;
  for (const piece of vocab.keys()) maxTokenChars = Math.max(maxTokenChars, piece.length);
  const addBos = config.add_bos_token !== false;
  const cleanUp = config.clean_up_tokenization_spaces === true;
  return {
    vocabSize,
    bosToken,
    eosToken,
    bosTokenId,
    config,
    maxTokenChars,
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

/**
 * Refuses text of `chars` UTF-16 units when `maxTokens` tokens cannot cover it: each token covers at most
 * `maxTokenChars` characters, doubled for normalizers that shrink text (accents
 * stripped from decomposed letters). Why before tokenizing: that runs on the event
 * loop at ~10 µs a character, so a 1 MB prompt stalled every other call for seconds,
 * only to be refused for not fitting the context window.
 */
export function checkTextFits(
  tokenizer: TextTokenizer,
  chars: number,
  maxTokens: number,
  what: string,
): void {
  const limit = maxTokens * tokenizer.maxTokenChars * 2;
  if (chars > limit) {
    throw invalidArgument(
      `${what} has ${chars} characters, more than ${maxTokens} tokens can hold (at most ${limit} characters with this tokenizer)`,
    );
  }
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
