import { failedPrecondition } from "../../errors/inferd-error.js";
import { pastName } from "../../onnx/decoder-names.js";
import { bytesPerElement, type TensorSpec } from "../../tensor/host-tensor.js";
import type { DecoderSignature } from "./decoder-signature.js";
import type { KvCache } from "./kv-cache.js";

/** A KV cache's slots, in tokens (one token's keys and values over every layer each). */
export interface KvCacheSlots {
  /** Slots holding a real token of some sequence. */
  readonly usedTokens: number;
  /** Slots the buffers hold: used, left padding and spare capacity. */
  readonly reservedTokens: number;
}

/**
 * Bytes one cached token takes: a key and a value per layer, each `kvHeads × headDim`
 * elements of the `past_key_values` inputs' dtype (float32: 4 bytes, float16: 2).
 */
export function kvCacheBytesPerToken(
  signature: DecoderSignature,
  inputs: readonly TensorSpec[],
): number {
  const dtype = inputs.find((s) => s.name === pastName(0, "key"))?.dtype ?? "float32";
  const { numLayers, numKvHeads, headDim } = signature;
  return 2 * numLayers * numKvHeads * headDim * bytesPerElement(dtype);
}

/** What `cache` holds: real tokens over all rows, and rows × capacity. */
export function kvCacheSlots(cache: KvCache): KvCacheSlots {
  let usedTokens = 0;
  for (const row of cache.mask) for (const slot of row) usedTokens += slot;
  return { usedTokens, reservedTokens: cache.rows * cache.capacity };
}

/** What {@link checkKvCacheBudget} weighs. */
export interface KvCacheBudget {
  /** Names the model in the message, e.g. `model "tiny"`. */
  readonly what: string;
  readonly maxConcurrentSequences: number;
  readonly contextWindow: number;
  readonly bytesPerToken: number;
  readonly budgetBytes: number;
  /** Where the budget comes from, for the message ("model.json kv_cache_memory_bytes"). */
  readonly budgetSource: string;
}

/**
 * The bytes a full KV cache takes (every sequence slot at the whole context window:
 * `max_concurrent_sequences × context window × bytes per token`), refused when over
 * the budget: a server that would run out of memory once busy should fail at load,
 * where the operator sees it, not under load.
 * @throws InferdError failed_precondition naming the numbers and the ways out.
 */
export function checkKvCacheBudget(budget: KvCacheBudget): number {
  const { maxConcurrentSequences: seqs, contextWindow: ctx, bytesPerToken } = budget;
  const needed = seqs * ctx * bytesPerToken;
  if (needed <= budget.budgetBytes) return needed;
  throw failedPrecondition(
    `${budget.what}: a full KV cache takes ${needed} bytes (max_concurrent_sequences ${seqs} × context window ${ctx} tokens × ${bytesPerToken} bytes per token), more than its budget of ${budget.budgetBytes} bytes (${budget.budgetSource}); lower max_concurrent_sequences in model.json or the context window (config.json max_position_embeddings), or raise kv_cache_memory_bytes`,
  );
}
