/**
 * The logits processors, each a pure in-place step on one row of logits (float64
 * for stable softmax sums). Order, as in transformers and vLLM: logit bias, penalties,
 * temperature, then the truncations top_k, top_p, min_p. Removed tokens get -Infinity.
 */

/** OpenAI's `logit_bias`: adds each bias to its token's raw logit. */
export function applyLogitBias(
  logits: Float64Array,
  bias: readonly (readonly [number, number])[],
): void {
  for (const [id, b] of bias) {
    const x = logits[id];
    if (x !== undefined) logits[id] = x + b;
  }
}

/**
 * Hugging Face repetition penalty over every token already seen (prompt included):
 * a positive logit is divided by `penalty`, a negative one multiplied, so > 1 always
 * makes a seen token less likely.
 */
export function applyRepetitionPenalty(
  logits: Float64Array,
  seen: Iterable<number>,
  penalty: number,
): void {
  if (penalty === 1) return;
  for (const id of seen) {
    const x = logits[id];
    if (x === undefined) continue;
    logits[id] = x > 0 ? x / penalty : x * penalty;
  }
}

/**
 * OpenAI presence and frequency penalties over generated tokens only:
 * `logit -= count * frequency + (count > 0 ? presence : 0)`.
 */
export function applyPresenceFrequencyPenalty(
  logits: Float64Array,
  counts: ReadonlyMap<number, number>,
  presence: number,
  frequency: number,
): void {
  if (presence === 0 && frequency === 0) return;
  for (const [id, count] of counts) {
    const x = logits[id];
    if (x === undefined || count === 0) continue;
    logits[id] = x - count * frequency - presence;
  }
}

/** Divides by the temperature (> 0; greedy never calls this). */
export function applyTemperature(logits: Float64Array, temperature: number): void {
  if (temperature === 1) return;
  for (let i = 0; i < logits.length; i++) logits[i] = (logits[i] ?? 0) / temperature;
}

/** Keeps the `k` largest logits (ties at the boundary kept); 0 or >= vocab disables. */
export function applyTopK(logits: Float64Array, k: number): void {
  if (k <= 0 || k >= logits.length) return;
  const threshold = [...logits].sort((a, b) => b - a)[k - 1] ?? Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) {
    if ((logits[i] ?? 0) < threshold) logits[i] = Number.NEGATIVE_INFINITY;
  }
}

/**
 * Nucleus sampling: keeps the smallest set of most likely tokens whose probability
 * sum reaches `p` (the token that crosses `p` is kept); 1 disables.
 */
export function applyTopP(logits: Float64Array, p: number): void {
  if (p >= 1) return;
  const probs = softmax(logits);
  const order = sortedIndices(probs);
  let cumulative = 0;
  let keep = 0;
  while (keep < order.length && cumulative < p) cumulative += probs[order[keep++] ?? 0] ?? 0;
  for (let i = Math.max(keep, 1); i < order.length; i++) {
    logits[order[i] ?? 0] = Number.NEGATIVE_INFINITY;
  }
}

/** Removes tokens whose probability is below `minP` times the top probability; 0 disables. */
export function applyMinP(logits: Float64Array, minP: number): void {
  if (minP <= 0) return;
  const probs = softmax(logits);
  let top = 0;
  for (const q of probs) if (q > top) top = q;
  const threshold = minP * top;
  for (let i = 0; i < logits.length; i++) {
    if ((probs[i] ?? 0) < threshold) logits[i] = Number.NEGATIVE_INFINITY;
  }
}

/** Numerically stable softmax (subtracts the maximum); -Infinity maps to 0. */
export function softmax(logits: Float64Array): Float64Array {
  const out = new Float64Array(logits.length);
  const max = maxOf(logits);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp((logits[i] ?? 0) - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] ?? 0) / sum;
  return out;
}

/** log-softmax, for logprobs: `x - max - log(sum(exp(x - max)))`. */
export function logSoftmax(logits: Float64Array): Float64Array {
  const max = maxOf(logits);
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - max);
  const logSum = max + Math.log(sum);
  return logits.map((x) => x - logSum);
}

/** Index of the largest logit; the first on ties, as llama2.c's argmax. */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i] ?? Number.NEGATIVE_INFINITY;
    if (x > bestValue) {
      bestValue = x;
      best = i;
    }
  }
  return best;
}

/**
 * {@link argmax} of a float32 row (the same index: the first of the largest, 0 when
 * none exceeds -Infinity, NaN skipped), which greedy decoding scans per row and step
 * over the whole vocabulary (49,152 at real size). Four interleaved lanes, each keeping
 * its first largest, then the lanes' best with ties to the lower index: the compares
 * of one lane no longer wait on another's, about twice as fast as one loop. Monomorphic
 * and without the `??` of an unchecked index, unlike the generic one.
 */
export function argmaxFloat32(logits: Float32Array): number {
  const n = logits.length;
  const whole = n - (n % 4);
  let v0 = Number.NEGATIVE_INFINITY;
  let v1 = v0;
  let v2 = v0;
  let v3 = v0;
  let i0 = 0;
  let i1 = 0;
  let i2 = 0;
  let i3 = 0;
  for (let i = 0; i < whole; i += 4) {
    const x0 = logits[i] as number;
    const x1 = logits[i + 1] as number;
    const x2 = logits[i + 2] as number;
    const x3 = logits[i + 3] as number;
    if (x0 > v0) {
      v0 = x0;
      i0 = i;
    }
    if (x1 > v1) {
      v1 = x1;
      i1 = i + 1;
    }
    if (x2 > v2) {
      v2 = x2;
      i2 = i + 2;
    }
    if (x3 > v3) {
      v3 = x3;
      i3 = i + 3;
    }
  }
  // The lanes' best, ties to the lower index; then the last n % 4 values in order.
  let best = i0;
  let bestValue = v0;
  if (v1 > bestValue || (v1 === bestValue && i1 < best)) {
    best = i1;
    bestValue = v1;
  }
  if (v2 > bestValue || (v2 === bestValue && i2 < best)) {
    best = i2;
    bestValue = v2;
  }
  if (v3 > bestValue || (v3 === bestValue && i3 < best)) {
    best = i3;
    bestValue = v3;
  }
  for (let i = whole; i < n; i++) {
    const x = logits[i] as number;
    if (x > bestValue) {
      best = i;
      bestValue = x;
    }
  }
  return best;
}

/** Indices ordered by descending value, ties by ascending index. */
export function sortedIndices(values: ArrayLike<number>): number[] {
  const order = Array.from({ length: values.length }, (_, i) => i);
  return order.sort((a, b) => (values[b] ?? 0) - (values[a] ?? 0) || a - b);
}

function maxOf(values: Float64Array): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const x of values) if (x > max) max = x;
  return max;
}
