/**
 * The names a decoder-with-past ONNX export gives its inputs and outputs (the layout
 * Hugging Face Optimum writes, and transformers.js and onnxruntime-genai read). The
 * one place that knows them: the scanner, the decoder signature, the KV cache and
 * the KV rewrite all go through these, so another naming would be taught here only.
 */

/** The token ids fed to each step: [batch, new tokens] int64. */
export const INPUT_IDS = "input_ids";
/** Which slots (past and new) are real tokens, 1, or padding, 0: [batch, total] int64. */
export const ATTENTION_MASK = "attention_mask";
/** Optional: each new token's position; some exports compute it from the mask inside. */
export const POSITION_IDS = "position_ids";
/** The scores over the vocabulary: [batch, new tokens, vocabulary] float32. */
export const LOGITS = "logits";

/** The two tensors a layer caches per token. */
export type KvKind = "key" | "value";

/** Both kinds, in the order the engine walks them. */
export const KV_KINDS: readonly KvKind[] = ["key", "value"];

const PAST = /^past_key_values\.(\d+)\.(key|value)$/;

/** Feed name of layer `i`'s past key or value. */
export const pastName = (i: number, kind: KvKind) => `past_key_values.${i}.${kind}`;

/** Output name of layer `i`'s present key or value. */
export const presentName = (i: number, kind: KvKind) => `present.${i}.${kind}`;

/** The layer of a past key or value feed (`past_key_values.{i}.{key|value}`); undefined for any other name. */
export function pastLayer(name: string): number | undefined {
  const layer = PAST.exec(name)?.[1];
  return layer === undefined ? undefined : Number(layer);
}

/**
 * True when a graph's input names look like a decoder with past: token ids and a KV
 * cache. Cheap enough for the scanner, which reads only the names; whether the model
 * is usable is for the decoder signature to say once it is loaded.
 */
export function hasDecoderInputs(inputNames: readonly string[]): boolean {
  return inputNames.includes(INPUT_IDS) && inputNames.some((n) => n.startsWith("past_key_values."));
}

const KV_CACHE = /^(past_key_values|present)\.\d+\.(key|value)$/;

/**
 * True for a KV-cache input (`past_key_values.{i}.{key|value}`) or output
 * (`present.{i}.{key|value}`): the tensors a signature shows one per layer and kind,
 * which the playground folds into one line so that they do not bury the rest.
 */
export function isKvCacheName(name: string): boolean {
  return KV_CACHE.test(name);
}
