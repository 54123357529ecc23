/**
 * Default of model.json `max_prefill_tokens_per_step`: prompt tokens one step may
 * prefill. A step's prefill run costs about its tokens, so this bounds how long the
 * running streams wait for their next token while a long prompt arrives (vLLM's
 * chunked prefill); prompts up to this length still prefill in one run.
 */
export const DEFAULT_MAX_PREFILL_TOKENS_PER_STEP = 512;

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
