import type { TokenLogprobs } from "./engine/generation-protocol.js";
import type { FinishReason } from "./request/stopping-criteria.js";

/** Newly generated text (valid UTF-8, stop strings withheld) and the token ids behind it. */
export interface GenerationDelta {
  readonly text: string;
  readonly tokenIds: readonly number[];
  readonly logprobs?: readonly TokenLogprobs[];
  /** The prompt's length in tokens, on a stream's first delta only (for end reports). */
  readonly promptTokens?: number;
}

/** The last chunk of every stream. */
export interface GenerationFinish {
  readonly finishReason: FinishReason;
  readonly usage: { readonly promptTokens: number; readonly completionTokens: number };
  readonly timings: {
    readonly timeToFirstTokenMs: number;
    /** Decode speed: tokens after the first over the time since the first. */
    readonly tokensPerSecond: number;
    readonly totalMs: number;
  };
}

/** What a generation stream yields: deltas, then exactly one `GenerationFinish`. */
export type GenerationChunk = GenerationDelta | GenerationFinish;

/** Guard telling the final chunk from a delta. */
export const isGenerationFinish = (chunk: GenerationChunk): chunk is GenerationFinish =>
  "finishReason" in chunk;

/** A stream's timings from `performance.now()` stamps: arrival, first token, end. */
export function generationTimings(
  arrivedAt: number,
  firstTokenAt: number | undefined,
  endedAt: number,
  completionTokens: number,
): GenerationFinish["timings"] {
  const decodeMs = firstTokenAt === undefined ? 0 : endedAt - firstTokenAt;
  return {
    timeToFirstTokenMs: firstTokenAt === undefined ? 0 : firstTokenAt - arrivedAt,
    tokensPerSecond:
      completionTokens > 1 && decodeMs > 0 ? ((completionTokens - 1) * 1000) / decodeMs : 0,
    totalMs: endedAt - arrivedAt,
  };
}
