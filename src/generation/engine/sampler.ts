import type { ResolvedSamplingParams } from "../request/sampling-params.js";
import {
  applyLogitBias,
  applyMinP,
  applyPresenceFrequencyPenalty,
  applyRepetitionPenalty,
  applyTemperature,
  applyTopK,
  applyTopP,
  argmax,
  argmaxFloat32,
  logSoftmax,
  sortedIndices,
} from "./logits-processors.js";
import { createSeededRandom, type SeededRandom } from "./seeded-random.js";

/** A token and its log-probability under the final (processed) distribution. */
export interface TokenLogprob {
  readonly tokenId: number;
  readonly logprob: number;
}

/**
 * What one sampling step chose. `logprob` is NaN and `top` absent unless the request
 * asked for logprobs (the log-softmax over the vocabulary is not free).
 */
export interface SampledToken extends TokenLogprob {
  readonly top?: readonly TokenLogprob[];
}

/**
 * Picks the next token of one sequence from its logits row. Keeps the sequence's
 * token history for the penalties (every token for repetition_penalty, generated
 * counts for presence/frequency) and its own seeded random stream, so a sequence
 * samples the same whatever else shares its batch.
 */
export class Sampler {
  private readonly random: SeededRandom;
  private readonly seen = new Set<number>();
  private readonly counts = new Map<number, number>();
  /** Greedy with nothing to apply first: the raw row's argmax is the answer. */
  private readonly plainGreedy: boolean;

  constructor(
    private readonly params: ResolvedSamplingParams,
    promptIds: readonly number[],
  ) {
    this.random = createSeededRandom(params.seed);
    for (const id of promptIds) this.seen.add(id);
    this.plainGreedy = isPlainGreedy(params);
  }

  /** Chooses a token from `row` (raw logits, not modified) and records it in the history. */
  sample(row: ArrayLike<number>): SampledToken {
    if (this.plainGreedy) {
      // No float64 copy of the vocabulary (49,152 values at real size, per row and step):
      // widening float32 is exact, so the argmax is the same token.
      const tokenId = row instanceof Float32Array ? argmaxFloat32(row) : argmax(row);
      this.accept(tokenId);
      return { tokenId, logprob: Number.NaN };
    }
    const logits = Float64Array.from(row);
    const p = this.params;
    applyLogitBias(logits, p.logitBias);
    applyRepetitionPenalty(logits, this.seen, p.repetitionPenalty);
    applyPresenceFrequencyPenalty(logits, this.counts, p.presencePenalty, p.frequencyPenalty);
    let tokenId: number;
    if (p.temperature === 0) {
      tokenId = argmax(logits);
    } else {
      applyTemperature(logits, p.temperature);
      applyTopK(logits, p.topK);
      applyTopP(logits, p.topP);
      applyMinP(logits, p.minP);
      tokenId = this.draw(logits);
    }
    this.accept(tokenId);
    return this.describe(logits, tokenId);
  }

  /** Inverse-CDF draw from softmax(logits) with this sequence's random stream. */
  private draw(logits: Float64Array): number {
    const logp = logSoftmax(logits);
    let u = this.random.next();
    let last = 0;
    for (let i = 0; i < logp.length; i++) {
      const q = Math.exp(logp[i] ?? Number.NEGATIVE_INFINITY);
      if (q === 0) continue;
      last = i;
      u -= q;
      if (u < 0) return i;
    }
    return last; // rounding left u a hair above 0: the last possible token
  }

  private accept(tokenId: number): void {
    this.seen.add(tokenId);
    this.counts.set(tokenId, (this.counts.get(tokenId) ?? 0) + 1);
  }

  private describe(logits: Float64Array, tokenId: number): SampledToken {
    if (this.params.logprobs === 0) return { tokenId, logprob: Number.NaN };
    const logp = logSoftmax(logits);
    const top = sortedIndices(logp)
      .slice(0, this.params.logprobs)
      .map((id) => ({ tokenId: id, logprob: logp[id] ?? Number.NEGATIVE_INFINITY }));
    return { tokenId, logprob: logp[tokenId] ?? Number.NEGATIVE_INFINITY, top };
  }
}

/** Temperature 0 without logprobs, logit bias or penalties: sampling is the raw argmax. */
function isPlainGreedy(p: ResolvedSamplingParams): boolean {
  return (
    p.temperature === 0 &&
    p.logprobs === 0 &&
    p.logitBias.length === 0 &&
    p.repetitionPenalty === 1 &&
    p.presencePenalty === 0 &&
    p.frequencyPenalty === 0
  );
}
