import type { ChatMessage } from "../../generation/request/chat-template.js";
import type { GenerateCall } from "../../generation/text-generator.js";
import type { ChatBody, CompletionBody } from "./openai-schemas.js";

/** OpenAI's default `max_tokens` for /v1/completions (chat defaults to what fits). */
export const COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

type Common = CompletionBody | ChatBody;

/** Drops null and undefined values, so that the engine's defaults apply. */
function present<T extends object>(value: T): { [K in keyof T]?: NonNullable<T[K]> } {
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== null && v !== undefined),
  ) as { [K in keyof T]?: NonNullable<T[K]> };
}

function samplingOf(body: Common, requestId: string) {
  const stop = typeof body.stop === "string" ? [body.stop] : (body.stop ?? undefined);
  return present({
    model: body.model,
    requestId,
    temperature: body.temperature,
    topP: body.top_p,
    topK: body.top_k,
    minP: body.min_p,
    repetitionPenalty: body.repetition_penalty,
    presencePenalty: body.presence_penalty,
    frequencyPenalty: body.frequency_penalty,
    seed: body.seed,
    stop,
    stopTokenIds: body.stop_token_ids,
    ignoreEos: body.ignore_eos,
    logitBias: body.logit_bias,
  });
}

/** A /v1/completions body as the core's call; logprobs n asks the engine for max(n, 1). */
export function completionToCall(body: CompletionBody, requestId: string): GenerateCall {
  const prompt = Array.isArray(body.prompt) ? body.prompt : [body.prompt];
  const first = prompt[0];
  return {
    ...samplingOf(body, requestId),
    model: body.model,
    ...(typeof first === "string"
      ? { prompt: first }
      : { promptTokenIds: prompt.filter((p) => typeof p === "number") }),
    maxTokens: body.max_tokens ?? COMPLETIONS_DEFAULT_MAX_TOKENS,
    ...(body.logprobs != null && { logprobs: Math.max(body.logprobs, 1) }),
  };
}

/** A /v1/chat/completions body as the core's call (messages through the chat template). */
export function chatToCall(body: ChatBody, requestId: string): GenerateCall {
  const messages: ChatMessage[] = body.messages.map((m) => ({
    role: m.role,
    content:
      typeof m.content === "string" ? m.content : (m.content ?? []).map((p) => p.text).join(""),
  }));
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  return {
    ...samplingOf(body, requestId),
    model: body.model,
    messages,
    ...(maxTokens != null && { maxTokens }),
    ...(body.logprobs === true && { logprobs: Math.max(body.top_logprobs ?? 0, 1) }),
  };
}
