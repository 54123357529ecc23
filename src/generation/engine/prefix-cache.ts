import { createHash } from "node:crypto";

/**
 * Tokens per prefix-cache block (vLLM's default block size): a prompt is reused in
 * whole blocks, so at most 15 tokens of a shared prefix are recomputed, and a lookup
 * costs one hash per 16 prompt tokens.
 */
export const PREFIX_BLOCK_TOKENS = 16;

/** One block's keys and values, per layer `[kvHeads, blockTokens, headDim]`. */
export interface PrefixBlockData {
  readonly keys: readonly Float32Array[];
  readonly values: readonly Float32Array[];
}

/** A cached block, found by the hash chain of the tokens up to its end. */
export interface PrefixBlock extends PrefixBlockData {
  readonly hash: string;
}

/** What a prefix cache did since it was made, and what it holds now. */
export interface PrefixCacheStats {
  /** Prompts looked up (those of at least one whole block before their last token). */
  readonly lookups: number;
  /** Lookups that found at least one block. */
  readonly hits: number;
  /** Prompt tokens taken from the cache instead of prefilled. */
  readonly tokensSaved: number;
  readonly blocks: number;
  readonly bytes: number;
  /** Blocks dropped to make room. */
  readonly evictions: number;
}

/**
 * The hash chain of `ids`' full blocks: block i's key hashes block i-1's key and
 * block i's tokens, so equal keys mean equal prefixes up to the block's end (vLLM's
 * automatic prefix caching). SHA-256: a collision would silently serve another
 * prompt's cache, so no short hash.
 */
export function prefixBlockHashes(ids: readonly number[], blockTokens: number): string[] {
  const hashes: string[] = [];
  let parent = "";
  for (let end = blockTokens; end <= ids.length; end += blockTokens) {
    const tokens = Int32Array.from(ids.slice(end - blockTokens, end));
    parent = createHash("sha256")
      .update(parent)
      .update(new Uint8Array(tokens.buffer))
      .digest("base64");
    hashes.push(parent);
  }
  return hashes;
}

interface Entry extends PrefixBlock {
  /** Sequences prefilling from (or storing) this block: it is not evicted meanwhile. */
  pins: number;
}

/**
 * Cached KV blocks of prompt prefixes, bounded to `floor(budgetBytes / blockBytes)`
 * blocks and evicted least recently used first, never while pinned. A chain is
 * touched deepest block first, so its head is the most recent: eviction takes a
 * chain's tail before its head, and never leaves a block whose parent is gone
 * while that parent's chain is the one in use.
 */
export class PrefixCache {
  /** Oldest first (a Map keeps insertion order; a touch re-inserts). */
  private readonly entries = new Map<string, Entry>();
  private counts = { lookups: 0, hits: 0, tokensSaved: 0, evictions: 0 };
  readonly maxBlocks: number;

  constructor(
    budgetBytes: number,
    private readonly blockBytes: number,
    readonly blockTokens = PREFIX_BLOCK_TOKENS,
  ) {
    this.maxBlocks = blockBytes > 0 ? Math.floor(budgetBytes / blockBytes) : 0;
  }

  /**
   * The cached blocks of `hashes`' longest cached head, pinned until {@link release}
   * (the caller copies them into its own cache).
   */
  lookup(hashes: readonly string[]): PrefixBlock[] {
    const found: Entry[] = [];
    if (hashes.length === 0) return found;
    for (const hash of hashes) {
      const entry = this.entries.get(hash);
      if (entry === undefined) break;
      found.push(entry);
    }
    this.counts.lookups++;
    if (found.length > 0) this.counts.hits++;
    this.counts.tokensSaved += found.length * this.blockTokens;
    for (const entry of found) entry.pins++;
    this.touch(found);
    return found;
  }

  /** Unpins blocks of {@link lookup}. */
  release(blocks: readonly PrefixBlock[]): void {
    for (const block of blocks) {
      const entry = this.entries.get(block.hash);
      if (entry !== undefined && entry.pins > 0) entry.pins--;
    }
  }

  /**
   * Caches the blocks of `hashes` it lacks, `read(i)` giving block i's data (called
   * only for missing ones), evicting unpinned blocks as needed; stops, keeping the head
   * it stored, when every cached block is pinned.
   */
  store(hashes: readonly string[], read: (index: number) => PrefixBlockData): void {
    const chain: Entry[] = [];
    for (const [i, hash] of hashes.entries()) {
      let entry = this.entries.get(hash);
      if (entry === undefined) {
        if (!this.makeRoom()) break;
        entry = { hash, ...read(i), pins: 0 };
        this.entries.set(hash, entry);
      }
      entry.pins++;
      chain.push(entry);
    }
    for (const entry of chain) entry.pins--;
    this.touch(chain);
  }

  stats(): PrefixCacheStats {
    const blocks = this.entries.size;
    return { ...this.counts, blocks, bytes: blocks * this.blockBytes };
  }

  /** Frees one block's room if the cache is full; false when all are pinned. */
  private makeRoom(): boolean {
    if (this.entries.size < this.maxBlocks) return true;
    for (const [hash, entry] of this.entries) {
      if (entry.pins > 0) continue;
      this.entries.delete(hash);
      this.counts.evictions++;
      return true;
    }
    return false;
  }

  /** Makes `chain` the most recent, its head last (evicted after its tail). */
  private touch(chain: readonly Entry[]): void {
    for (let i = chain.length - 1; i >= 0; i--) {
      const entry = chain[i];
      if (entry === undefined) continue;
      this.entries.delete(entry.hash);
      this.entries.set(entry.hash, entry);
    }
  }
}
