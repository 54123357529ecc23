/**
 * Default of model.json `max_prefill_tokens_per_step`: prompt tokens one step may
 * prefill. A step's prefill run costs about its tokens, so this bounds how long the
 * running streams wait for their next token while a long prompt arrives (vLLM's
 * chunked prefill); prompts up to this length still prefill in one run.
 */
export const DEFAULT_MAX_PREFILL_TOKENS_PER_STEP = 512;

/**
 * Default of model.json `max_prefill_tokens_while_decoding`: prompt tokens one step may
 * prefill while other sequences decode (at most `max_prefill_tokens_per_step`). The
 * engine runs a prefill chunk and the decode step one after the other, so each chunk
 * is one gap in every running stream. On SmolLM2-135M's shape (2 intra-op threads), a
 * 1,000-token prompt among 8 decoding streams in chunks of 64: the prompt's first token
 * 1.0-1.14x a bare prefill, the streams' worst gap 0.19-0.28 s (a chunk and a step; 4.2x
 * their median over 128 tokens each); in chunks of 512: 1.1-1.2 s (bench/RESULTS.md).
 * With nothing decoding, nobody waits on a chunk, and prompts prefill in chunks of
 * `max_prefill_tokens_per_step`.
 */
export const DEFAULT_MAX_PREFILL_TOKENS_WHILE_DECODING = 64;

/**
 * How many prompt tokens each prefilling sequence feeds this step, oldest first:
 * `remaining[i]` is what sequence i still has to prefill, the answer's length is how
 * many sequences take part (a prefix: a younger one never overtakes an older one).
 *
 * The run is one `[rows, width]` batch, shorter rows left-padded, so what it costs is
 * `rows × width`, padding included: that is what `budget` bounds. The oldest sequence
 * sets the width (its remaining tokens, at most the budget); the next ones join, with
 * at most that many tokens each, while the padded total stays within the budget
 * (or widen it while it does). With an unbounded budget every prompt is prefilled whole in one run.
 */
export function planPrefillChunks(remaining: readonly number[], budget: number): number[] {
  const chunks: number[] = [];
  let width = 0;
  for (const left of remaining) {
    const wanted = Math.min(left, budget);
    const wider = Math.max(width, wanted);
    if (chunks.length === 0 || (chunks.length + 1) * wider <= budget) {
      width = wider;
      chunks.push(wanted);
    } else if ((chunks.length + 1) * width <= budget) {
      chunks.push(Math.min(left, width));
    } else {
      break;
    }
  }
  return chunks;
}
