/** Why a sequence ended; "cancelled" comes from the client, not from these criteria. */
export type FinishReason = "stop" | "length" | "eos" | "cancelled";

/** When a sequence must stop, resolved from the request and the model. */
export interface StoppingOptions {
  /** End-of-sequence ids (empty when the request sets ignore_eos). */
  readonly eosTokenIds: readonly number[];
  readonly stopTokenIds: readonly number[];
  /** Strings that end generation; never emitted. */
  readonly stopStrings: readonly string[];
  /** Most tokens to generate. */
  readonly maxTokens: number;
  readonly promptTokens: number;
  /** max_position_embeddings: prompt plus generated never exceed it. */
  readonly contextWindow: number;
}

/** The outcome of one token: text safe to emit now, whether the token counts, and maybe a finish. */
export interface StopDecision {
  readonly text: string;
  /** False for an eos or stop token id: it ends the sequence and is not part of the output. */
  readonly emitToken: boolean;
  readonly finishReason?: FinishReason;
}

/**
 * Decides, token by token, when a sequence ends and which text may be emitted.
 * Stop strings are matched on the text, across token boundaries: text that could
 * still be the start of a stop string is held back until it cannot be, so a stop
 * string is never emitted, even in part.
 */
export class StoppingCriteria {
  private held = "";
  private generated = 0;

  constructor(private readonly options: StoppingOptions) {}

  /** Whether `tokenId` ends the sequence without being part of the output (eos or stop id). */
  isStopToken(tokenId: number): boolean {
    return (
      this.options.eosTokenIds.includes(tokenId) || this.options.stopTokenIds.includes(tokenId)
    );
  }

  /**
   * Judges one generated token and the text delta it completed.
   * @param flush the detokenizer's held-back text, asked for only when the sequence ends.
   */
  accept(tokenId: number, delta: string, flush: () => string): StopDecision {
    const o = this.options;
    if (o.eosTokenIds.includes(tokenId))
      return { text: this.release(flush), emitToken: false, finishReason: "eos" };
    if (o.stopTokenIds.includes(tokenId))
      return { text: this.release(flush), emitToken: false, finishReason: "stop" };
    this.generated++;
    const atLimit =
      this.generated >= o.maxTokens || o.promptTokens + this.generated >= o.contextWindow;
    const text = this.held + delta + (atLimit ? flush() : "");
    const stopAt = this.findStop(text);
    if (stopAt >= 0) {
      this.held = "";
      return { text: text.slice(0, stopAt), emitToken: true, finishReason: "stop" };
    }
    if (atLimit) {
      this.held = "";
      return { text, emitToken: true, finishReason: "length" };
    }
    const keep = this.holdBack(text);
    this.held = text.slice(text.length - keep);
    return { text: text.slice(0, text.length - keep), emitToken: true };
  }

  /** Text held back as a possible stop-string prefix, released when the sequence ends otherwise. */
  private release(flush: () => string): string {
    const text = this.held + flush();
    this.held = "";
    return text;
  }

  /** Earliest index where any stop string occurs in `text`, or -1. */
  private findStop(text: string): number {
    let best = -1;
    for (const stop of this.options.stopStrings) {
      const at = text.indexOf(stop);
      if (at >= 0 && (best < 0 || at < best)) best = at;
    }
    return best;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
  private holdBack(text: string): number {
    let keep = 0;
    for (const stop of this.options.stopStrings) {
      for (let n = Math.min(stop.length - 1, text.length); n > keep; n--) {
        if (stop.startsWith(text.slice(text.length - n))) {
          keep = n;
          break;
        }
      }
    }
    return keep;
  }
}
