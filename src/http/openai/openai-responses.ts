import type { TokenLogprobs } from "../../generation/generation-protocol.js";
import type { GenerationFinish } from "../../generation/generative-model.js";

/** What one response (or one stream) is about: shared by every object it sends. */
export interface ResponseHead {
  readonly id: string;
  /** Unix seconds. */
  readonly created: number;
  readonly model: string;
}

export interface OpenAiUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

/** eos and stop strings/ids are "stop" to OpenAI; cancelled streams never get here. */
export function finishReasonOf(finish: GenerationFinish): "stop" | "length" {
  return finish.finishReason === "length" ? "length" : "stop";
}

export function usageOf(finish: GenerationFinish): OpenAiUsage {
  const { promptTokens, completionTokens } = finish.usage;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/** SentencePiece marks spaces with "▁"; OpenAI shows token text. */
const pieceText = (piece: string) => piece.replaceAll("▁", " ");

/** Legacy completions logprobs: parallel arrays, `top` trimmed to the requested n. */
export function completionLogprobs(lps: readonly TokenLogprobs[], n: number) {
  return {
    tokens: lps.map((lp) => pieceText(lp.chosen.token)),
    token_logprobs: lps.map((lp) => lp.chosen.logprob),
    top_logprobs: lps.map((lp) =>
      Object.fromEntries(lp.top.slice(0, n).map((t) => [pieceText(t.token), t.logprob])),
    ),
  };
}

const bytesOf = (text: string) => [...Buffer.from(text, "utf8")];

/** Chat logprobs: one entry per token with its top alternatives. */
export function chatLogprobs(lps: readonly TokenLogprobs[], n: number) {
  return {
    content: lps.map((lp) => {
      const token = pieceText(lp.chosen.token);
      return {
        token,
        logprob: lp.chosen.logprob,
        bytes: bytesOf(token),
        top_logprobs: lp.top.slice(0, n).map((t) => ({
          token: pieceText(t.token),
          logprob: t.logprob,
          bytes: bytesOf(pieceText(t.token)),
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
