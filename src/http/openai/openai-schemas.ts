import { z } from "zod";
import { OpenAiError } from "./openai-error.js";

/*
 * Request bodies of OpenAI's /v1/completions and /v1/chat/completions, plus the
 * common extensions of vLLM and TGI (top_k, min_p, repetition_penalty, ignore_eos,
 * stop_token_ids). Only shapes are checked here; value ranges are the engine's
 * (sampling-params.ts), so that both APIs report the same limits, except where OpenAI's
 * range is narrower than the engine's (temperature at most 2).
 */

// Count and length limits are the engine's (generation-request.ts), the same for both APIs.
const stop = z.union([z.string(), z.array(z.string())]).nullish();
const count = z.int().min(1, { error: "must be an integer >= 1" });

const sampling = {
  model: z.string().min(1),
  max_tokens: count.nullish(),
  // OpenAI's range; the engine (and Generate) takes any temperature >= 0, as vLLM does.
  temperature: z
    .number()
    .max(2, { error: (iss) => `${String(iss.input)} is greater than the maximum of 2` })
    .nullish(),
  top_p: z.number().nullish(),
  top_k: z.int().nullish(),
  min_p: z.number().nullish(),
  repetition_penalty: z.number().nullish(),
  presence_penalty: z.number().nullish(),
  frequency_penalty: z.number().nullish(),
  seed: z.int().nullish(),
  stop,
  stop_token_ids: z.array(z.int()).nullish(),
  ignore_eos: z.boolean().nullish(),
  // Token ids are JSON object keys, so strings; the engine checks they are ids in the vocabulary.
  logit_bias: z.record(z.string(), z.number()).nullish(),
  n: z.literal(1, { error: "only n = 1 is supported" }).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  user: z.string().nullish(),
  // vLLM's guided decoding: refused rather than ignored, like response_format below.
  guided_json: z.null({ error: "guided decoding is not supported" }).optional(),
  guided_regex: z.null({ error: "guided decoding is not supported" }).optional(),
  guided_choice: z.null({ error: "guided decoding is not supported" }).optional(),
  guided_grammar: z.null({ error: "guided decoding is not supported" }).optional(),
  // Refused rather than ignored: a client asking for JSON must not silently get free text.
  response_format: z
    .object({
      type: z.literal("text", {
        error: "only type text is supported (no JSON mode or structured outputs)",
      }),
    })
    .nullish(),
};

/** Body of `POST /v1/completions`: OpenAI's fields that inferd serves; unknown ones are refused by name. */
export const completionBodySchema = z
  .object({
    ...sampling,
    prompt: z.union([
      z.string(),
      z
        .array(z.string())
        .length(1, { error: "give one prompt (batches of prompts are not supported)" }),
      z.array(z.int()).min(1),
    ]),
    logprobs: z.int().min(0).max(5).nullish(),
    echo: z.literal(false, { error: "echo is not supported" }).nullish(),
    best_of: z.literal(1, { error: "only best_of = 1 is supported" }).nullish(),
    suffix: z.null({ error: "suffix is not supported" }).optional(),
  })
  .refine((b) => b.stream_options == null || b.stream === true, {
    error: "stream_options needs stream: true",
    path: ["stream_options"],
  });

const textPart = z.object({ type: z.literal("text"), text: z.string() });

/** OpenAI's roles less "tool" and "function", which only answer tool calls (none here). */
const ROLES = ["system", "developer", "user", "assistant"] as const;

/**
 * One chat message. As OpenAI's schema: an unknown role is refused listing the
 * supported ones, and only an assistant turn may leave out its content.
 */
const chatMessage = z
  .object({
    role: z.enum(ROLES, {
      error: (iss) =>
        `Invalid value: '${String(iss.input)}'. Supported values are: ${ROLES.map((r) => `'${r}'`).join(", ")}.`,
    }),
    content: z.union([z.string(), z.array(textPart)]).nullish(),
  })
  .refine((m) => m.content != null || m.role === "assistant", {
    error: (iss) => {
      const got = (iss.input as { content?: unknown }).content === null ? "null" : "nothing";
      return `expected a string or an array of text parts, got ${got} (only an assistant message may omit its content)`;
    },
    path: ["content"],
  });

/** Body of `POST /v1/chat/completions`: text messages only (content as a string or text parts). */
export const chatBodySchema = z
  .object({
    ...sampling,
    messages: z.array(chatMessage).min(1),
    max_completion_tokens: count.nullish(),
    logprobs: z.boolean().nullish(),
    top_logprobs: z.int().min(0).max(20).nullish(),
    tools: z.array(z.unknown()).max(0, { error: "tools are not supported" }).nullish(),
    functions: z.array(z.unknown()).max(0, { error: "functions are not supported" }).nullish(),
    // Without tools only "none" (and "auto", which then means none) can be honoured.
    tool_choice: z
      .enum(["none", "auto"], { error: "tool_choice: tools are not supported" })
      .nullish(),
    function_call: z.null({ error: "function_call is not supported" }).optional(),
  })
  .refine((b) => b.top_logprobs == null || b.logprobs === true, {
    error: "top_logprobs needs logprobs: true",
    path: ["top_logprobs"],
  })
  .refine((b) => b.stream_options == null || b.stream === true, {
    error: "stream_options needs stream: true",
    path: ["stream_options"],
  });

/** A checked `/v1/completions` body. */
export type CompletionBody = z.infer<typeof completionBodySchema>;
/** A checked `/v1/chat/completions` body. */
export type ChatBody = z.infer<typeof chatBodySchema>;

/**
 * Validates a body; the first problem becomes a 400 naming the parameter as OpenAI
 * spells it in `param` ("messages[1].content").
 */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = paramOf(issue?.path ?? []);
  const message = `${param ?? "body"}: ${issue?.message ?? "invalid request"}`;
  throw new OpenAiError(400, message, "invalid_request_error", param, "invalid_value");
}

/** ["messages", 1, "content"] → "messages[1].content"; an empty path → null (the body). */
function paramOf(path: readonly PropertyKey[]): string | null {
  const spelt = path
    .map((key, i) => (typeof key === "number" ? `[${key}]` : `${i > 0 ? "." : ""}${String(key)}`))
    .join("");
  return spelt === "" ? null : spelt;
}
