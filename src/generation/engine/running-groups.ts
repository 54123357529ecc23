import type { GenerationSequence } from "./generation-sequence.js";
import type { KvCache } from "./kv-cache.js";

/** Running sequences decoded in one run: their rows of one KV cache, in order. */
export interface RunningGroup {
  seqs: GenerationSequence[];
  cache: KvCache;
}

/**
 * Padding (row slots) two runs may take on to become one, whatever their size: a
 * run reads every weight once, which costs about as much as attending over this many
 * slots (SmolLM2-135M's shape, fp32, 2 threads: a decode run 25-35 ms plus 10-20 µs
 * per row slot of cache).
 */
export const SHARED_RUN_SLACK_SLOTS = 2048;

/**
 * Whether two batches of rows decode in one run rather than two. One run pads every
 * row to the longer capacity, and every padded slot is attended over (masked) on every
 * step: a 1,000-token sequence among 8 of 60 made each step of all nine cost 230-290 ms
 * on SmolLM2-135M's shape, against 40 + 43 ms for the two apart. Two runs read the
 * weights twice. They share a run while the padding is small: at most
 * {@link SHARED_RUN_SLACK_SLOTS} row slots, or at most as many as the real ones
 * (padding at most doubles the attention work).
 */
export function shareRun(a: KvCache, b: KvCache): boolean {
  const real = a.rows * a.capacity + b.rows * b.capacity;
  const padded = (a.rows + b.rows) * Math.max(a.capacity, b.capacity);
  return padded - real <= Math.max(SHARED_RUN_SLACK_SLOTS, real);
}

/**
 * Adds a sequence whose prompt is complete, with its one-row cache, to the group it
 * shares a run with at least padding, or to a group of its own.
 */
export function joinGroup(groups: RunningGroup[], seq: GenerationSequence, cache: KvCache): void {
  let best: RunningGroup | undefined;
  let bestWaste = Number.POSITIVE_INFINITY;
  for (const group of groups) {
    if (!shareRun(group.cache, cache)) continue;
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
export function mergeGroups(groups: readonly RunningGroup[]): RunningGroup[] {
  const left = groups.filter((g) => g.seqs.length > 0);
  for (let i = 0; i < left.length; i++) {
    for (let j = i + 1; j < left.length; j++) {
      const [a, b] = [left[i], left[j]];
      if (a === undefined || b === undefined || !shareRun(a.cache, b.cache)) continue;
      a.cache = a.cache.concat(b.cache);
      a.seqs.push(...b.seqs);
      left.splice(j, 1);
      j = i;
    }
  }
  return left;
}
