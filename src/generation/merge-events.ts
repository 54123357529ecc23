import type { SequenceEvent, TokenLogprobs } from "./engine/generation-protocol.js";
import type { FinishReason } from "./request/stopping-criteria.js";

/** Consecutive events of one sequence folded into one: text and ids concatenated, in order. */
export interface MergedEvents {
  readonly text: string;
  readonly tokenIds: number[];
  readonly logprobs: TokenLogprobs[] | undefined;
  readonly finishReason: FinishReason | undefined;
  /** The worker's error, if one of the events carried it (it ends the sequence). */
  readonly error: string | undefined;
}

/**
 * Folds the events a consumer finds waiting into one delta. When the consumer keeps
 * up this is one event; when it lags (a busy event loop, a slow client), it sends one
 * message for many tokens instead of one per token, so the lag does not grow. Text
 * stays valid UTF-8: each event's text already is.
 */
export function mergeEvents(events: readonly SequenceEvent[]): MergedEvents {
  let text = "";
  const tokenIds: number[] = [];
  let logprobs: TokenLogprobs[] | undefined;
  let finishReason: FinishReason | undefined;
  let error: string | undefined;
  for (const event of events) {
    text += event.text ?? "";
    if (event.tokenIds !== undefined) tokenIds.push(...event.tokenIds);
    if (event.logprobs !== undefined) logprobs = [...(logprobs ?? []), ...event.logprobs];
    finishReason ??= event.finishReason;
    error ??= event.error;
  }
  return { text, tokenIds, logprobs, finishReason, error };
}
