import type { TokenLogprobs } from "../../generation/engine/generation-protocol.js";
import type { GenerationFinish } from "../../generation/generation-chunk.js";

/** What one response (or one stream) is about: shared by every object it sends. */
export interface ResponseHead {
  readonly id: string;
  /** Unix seconds. */
  readonly created: number;
  readonly model: string;
}

/** OpenAI's `usage` object: token counts of a finished generation. */
export interface OpenAiUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

/** eos and stop strings/ids are "stop" to OpenAI; cancelled streams never get here. */
export function finishReasonOf(finish: GenerationFinish): "stop" | "length" {
  return finish.finishReason === "length" ? "length" : "stop";
}

/** The `usage` of a finished generation, as OpenAI spells it. */
export function usageOf(finish: GenerationFinish): OpenAiUsage {
  const { promptTokens, completionTokens } = finish.usage;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/** A SentencePiece byte-fallback piece, "<0x0D>": one raw byte of UTF-8. */
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/**
 * A token's text as OpenAI shows it: SentencePiece's "▁" is a space, and a
 * byte-fallback piece is its character when the byte is ASCII on its own ("\r");
 * a byte of a longer UTF-8 sequence has no text alone and keeps its piece.
 */
function pieceText(piece: string): string {
  const byte = BYTE_PIECE.exec(piece)?.[1];
  if (byte === undefined) return piece.replaceAll("▁", " ");
  const value = Number.parseInt(byte, 16);
  return value < 0x80 ? String.fromCharCode(value) : piece;
}

/** The UTF-8 bytes a token stands for: the byte itself for a byte-fallback piece. */
function bytesOf(piece: string): number[] {
  const byte = BYTE_PIECE.exec(piece)?.[1];
  if (byte !== undefined) return [Number.parseInt(byte, 16)];
  return [...Buffer.from(pieceText(piece), "utf8")];
}

/**
 * Character (code point) offsets of a completion's tokens, as vLLM counts them: a
 * token starts where the text before it ends, and a character spelled in byte-fallback
 * pieces (<0xE2><0x80><0x94>) counts when its last byte arrives, so all its bytes share
 * its offset. One instance per response, so that a stream's chunks continue the count.
 */
export class TextOffsets {
  private offset = 0;
  /** Continuation bytes still owed by the current multi-byte character. */
  private pending = 0;

  /** The offset of the token `piece`, then advances past it. */
  next(piece: string): number {
    const at = this.offset;
    const byte = BYTE_PIECE.exec(piece)?.[1];
    if (byte === undefined) {
      this.pending = 0;
      this.offset += [...pieceText(piece)].length;
      return at;
    }
    const value = Number.parseInt(byte, 16);
    if (value >= 0x80 && value < 0xc0) {
      if (this.pending > 0 && --this.pending === 0) this.offset++;
    } else if (value >= 0xc0) {
      this.pending = value >= 0xf0 ? 3 : value >= 0xe0 ? 2 : 1;
    } else {
      this.pending = 0;
      this.offset++;
    }
    return at;
  }
}

/**
 * Legacy completions logprobs: parallel arrays, `top` trimmed to the requested n, and
 * each token's offset in the completion text (characters from its start, as vLLM
 * without echo; a stream passes its one {@link TextOffsets} to every chunk).
 */
export function completionLogprobs(
  lps: readonly TokenLogprobs[],
  n: number,
  offsets: TextOffsets = new TextOffsets(),
) {
  const tokens = lps.map((lp) => pieceText(lp.chosen.token));
  const textOffset = lps.map((lp) => offsets.next(lp.chosen.token));
  return {
    tokens,
    token_logprobs: lps.map((lp) => lp.chosen.logprob),
    top_logprobs: lps.map((lp) =>
      Object.fromEntries(lp.top.slice(0, n).map((t) => [pieceText(t.token), t.logprob])),
    ),
    text_offset: textOffset,
  };
}

/** Chat logprobs: one entry per token with its top alternatives. */
export function chatLogprobs(lps: readonly TokenLogprobs[], n: number) {
  return {
    content: lps.map((lp) => {
      return {
        token: pieceText(lp.chosen.token),
        logprob: lp.chosen.logprob,
        bytes: bytesOf(lp.chosen.token),
        top_logprobs: lp.top.slice(0, n).map((t) => ({
          token: pieceText(t.token),
          logprob: t.logprob,
          bytes: bytesOf(t.token),
        })),
      };
    }),
    refusal: null,
  };
}

/** A `text_completion` object (whole response or stream chunk). */
export function completionObject(
  head: ResponseHead,
  choice: { text: string; logprobs: unknown; finish_reason: string | null } | undefined,
  usage: OpenAiUsage | null,
) {
  return {
    id: head.id,
    object: "text_completion",
    created: head.created,
    model: head.model,
    choices: choice === undefined ? [] : [{ index: 0, ...choice }],
    usage,
  };
}

/** A `chat.completion` object (non-streaming). */
export function chatObject(
  head: ResponseHead,
  content: string,
  logprobs: unknown,
  finish: GenerationFinish,
) {
  return {
    id: head.id,
    object: "chat.completion",
    created: head.created,
    model: head.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content, refusal: null },
        logprobs,
        finish_reason: finishReasonOf(finish),
      },
    ],
    usage: usageOf(finish),
  };
}

/** A `chat.completion.chunk` object; no choice for the trailing usage chunk. */
export function chatChunk(
  head: ResponseHead,
  choice: { delta: object; logprobs: unknown; finish_reason: string | null } | undefined,
  usage: OpenAiUsage | null,
) {
  return {
    id: head.id,
    object: "chat.completion.chunk",
    created: head.created,
    model: head.model,
    choices: choice === undefined ? [] : [{ index: 0, ...choice }],
    usage,
  };
}
