import type { DecoderSignature } from "./decoder-signature.js";
import { KvCache } from "./kv-cache.js";
import { type PrefixBlock, type PrefixCache, prefixBlockHashes } from "./prefix-cache.js";

/** Where a sequence's prefill starts: its own cache, seeded with a cached prefix when there is one. */
export interface PrefillStart {
  readonly cache: KvCache;
  /** Prompt tokens already in `cache`. */
  readonly done: number;
  /** The cache's blocks it was seeded from, pinned until the prefill ends ({@link PrefixCache.release}). */
  readonly pinned: readonly PrefixBlock[];
}

/**
 * A one-row cache for prefilling `ids`, holding a copy of the longest cached run of
 * whole blocks of its prefix. The last prompt token is never taken from the cache:
 * its logits give the first generated token, so at least it is prefilled.
 */
export function startPrefill(
  sig: DecoderSignature,
  ids: readonly number[],
  prefix: PrefixCache | undefined,
): PrefillStart {
  const empty = { cache: KvCache.empty(sig, 1), done: 0, pinned: [] };
  if (prefix === undefined || prefix.maxBlocks === 0) return empty;
  const pinned = prefix.lookup(prefixBlockHashes(ids.slice(0, -1), prefix.blockTokens));
  if (pinned.length === 0) return empty;
  const done = pinned.length * prefix.blockTokens;
  const join = (kind: "keys" | "values") =>
    Array.from({ length: sig.numLayers }, (_, layer) => {
      const out = new Float32Array(sig.numKvHeads * done * sig.headDim);
      const span = prefix.blockTokens * sig.headDim;
      pinned.forEach((block, b) => {
        const src = block[kind][layer] ?? new Float32Array(0);
        for (let h = 0; h < sig.numKvHeads; h++) {
          out.set(src.subarray(h * span, (h + 1) * span), h * done * sig.headDim + b * span);
        }
      });
      return out;
    });
  return { cache: KvCache.fromSlots(sig, join("keys"), join("values"), done), done, pinned };
}

/**
 * Caches the whole blocks of `ids` (prefilled into row 0 of `cache`) that the prefix
 * cache lacks, copying their slots: the sequence's cache goes on changing.
 */
export function storePrefill(prefix: PrefixCache, cache: KvCache, ids: readonly number[]): void {
  if (prefix.maxBlocks === 0) return;
  const blockTokens = prefix.blockTokens;
  const hashes = prefixBlockHashes(ids, blockTokens);
  prefix.store(hashes, (i) => cache.readSlots(0, i * blockTokens, blockTokens));
}
