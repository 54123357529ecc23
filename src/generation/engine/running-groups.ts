import type { GenerationSequence } from "./generation-sequence.js";
import type { KvCache } from "./kv-cache.js";

/** Running sequences decoded in one run: their rows of one KV cache, in order. */
export interface RunningGroup {
  seqs: GenerationSequence[];
  cache: KvCache;
}

/** Default of {@link shareRun}'s slack: SmolLM2-135M's (fp32), from {@link sharedRunSlack}. */
export const SHARED_RUN_SLACK_SLOTS = 2048;

/** The least slack in bytes of cache: below it a run's fixed overhead outweighs the padding. */
const MIN_SLACK_BYTES = 96 * 1024 * 1024;

/**
 * The padding (row slots of cache) two runs may take on to become one: about what one
 * more run costs, in slots. A decode run reads every weight once; a padded slot is
 * attended over on every step. Measured on SmolLM2-135M's shape (fp32, 2 threads): a
 * run 25-35 ms plus 10-20 µs per row slot (46 KB of keys and values), so a run costs
 * about as much as a fifth of its weight bytes in cache. Tiny models (stories260k) are
 * per-run overhead: the floor keeps all their rows in one run.
 */
export function sharedRunSlack(weightBytes: number, kvBytesPerToken: number): number {
  return Math.ceil(Math.max(MIN_SLACK_BYTES, weightBytes / 5) / Math.max(1, kvBytesPerToken));
}

/**
 * Whether two batches of rows decode in one run rather than two. One run pads every
 * row to the longer capacity, and every padded slot is attended over (masked) on every
 * step: a 1,000-token sequence among 8 of 60 made each step of all nine cost 230-290 ms
 * on SmolLM2-135M's shape, against 40 + 43 ms for the two apart. Two runs read the
 * weights twice. They share a run while the padding is small: at most `slack` row
 * slots ({@link sharedRunSlack}), or at most as many as the real ones (padding at most
 * doubles the attention work).
 */
export function shareRun(a: KvCache, b: KvCache, slack = SHARED_RUN_SLACK_SLOTS): boolean {
  const real = a.rows * a.capacity + b.rows * b.capacity;
  const padded = (a.rows + b.rows) * Math.max(a.capacity, b.capacity);
  return padded - real <= Math.max(slack, real);
}

/**
 * Adds a sequence whose prompt is complete, with its one-row cache, to the group it
 * shares a run with at least padding, or to a group of its own.
 */
export function joinGroup(
  groups: RunningGroup[],
  seq: GenerationSequence,
  cache: KvCache,
  slack = SHARED_RUN_SLACK_SLOTS,
): void {
  let best: RunningGroup | undefined;
  let bestWaste = Number.POSITIVE_INFINITY;
  for (const group of groups) {
    if (!shareRun(group.cache, cache, slack)) continue;
    const waste = Math.abs(group.cache.capacity - cache.capacity);
    if (waste < bestWaste) [best, bestWaste] = [group, waste];
  }
  if (best === undefined) {
    groups.push({ seqs: [seq], cache });
    return;
  }
  best.cache = best.cache.concat(cache);
  best.seqs.push(seq);
}

/**
 * Merges groups that now share a run (after sequences left and the caches were
 * trimmed, or grew alike); returns the groups left, none empty.
 */
export function mergeGroups(
  groups: readonly RunningGroup[],
  slack = SHARED_RUN_SLACK_SLOTS,
): RunningGroup[] {
  const left = groups.filter((g) => g.seqs.length > 0);
  for (let i = 0; i < left.length; i++) {
    for (let j = i + 1; j < left.length; j++) {
      const [a, b] = [left[i], left[j]];
      if (a === undefined || b === undefined || !shareRun(a.cache, b.cache, slack)) continue;
      a.cache = a.cache.concat(b.cache);
      a.seqs.push(...b.seqs);
      left.splice(j, 1);
      j = i;
    }
  }
  return left;
}
