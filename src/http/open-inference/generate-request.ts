import { z } from "zod";
import { invalidArgument } from "../../errors/inferd-error.js";
import type { GenerateCall } from "../../generation/text-generator.js";

/**
 * The default `max_tokens` of Triton's vLLM backend (vLLM's SamplingParams), so that a
 * client written for it gets the same length from inferd.
 */
export const GENERATE_DEFAULT_MAX_TOKENS = 16;

/*
 * The sampling parameters Triton's vLLM backend takes, accepted at the top level (as
 * the generate extension passes extra properties) or in "parameters". Shapes only:
 * ranges are the engine's (sampling-params.ts), the same limits as every other API.
 */
const sampling = {
  max_tokens: z.int().min(1, { error: "must be an integer >= 1" }),
  temperature: z.number(),
  top_p: z.number(),
  top_k: z.int(),
  min_p: z.number(),
  seed: z.int(),
  repetition_penalty: z.number(),
  presence_penalty: z.number(),
  frequency_penalty: z.number(),
  stop: z.union([z.string(), z.array(z.string())]),
  stop_token_ids: z.array(z.int()),
  ignore_eos: z.boolean(),
  exclude_input_in_output: z.boolean(),
  stream: z.boolean(),
};
const samplingSchema = z.strictObject(sampling).partial();
const bodySchema = samplingSchema.extend({
  text_input: z.string(),
  parameters: samplingSchema.optional(),
});

/** A checked generate body: the prompt and its parameters, wherever they were given. */
export type GenerateBody = z.infer<typeof samplingSchema> & { readonly text_input: string };

/**
 * Checks a `/generate` body: `text_input` and the sampling parameters, top-level or in
 * `parameters` (not both). Unknown properties are refused by name rather than ignored:
 * a client asking for something inferd does not do must know.
 * @throws InferdError invalid_argument naming the property.
 */
export function parseGenerateBody(body: unknown): GenerateBody {
  const result = bodySchema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.map(String).join(".") || "body";
    throw invalidArgument(
      `${where}: ${issue?.message ?? "invalid request"}; generate takes text_input and ${Object.keys(sampling).join(", ")}`,
    );
  }
  const { parameters = {}, ...top } = result.data;
  const twice = Object.keys(parameters).find((k) => k in top);
  if (twice !== undefined) {
    throw invalidArgument(
      `${twice} is given both at the top level and in parameters; give it once`,
    );
  }
  return { ...top, ...parameters };
}

/** A checked body as the core's call for `model` (and pinned `version`, if any). */
export function generateToCall(
  body: GenerateBody,
  model: string,
  version: number | undefined,
): GenerateCall {
  const stop = typeof body.stop === "string" ? [body.stop] : body.stop;
  const present = Object.fromEntries(
    Object.entries({
      temperature: body.temperature,
      topP: body.top_p,
      topK: body.top_k,
      minP: body.min_p,
      seed: body.seed,
      repetitionPenalty: body.repetition_penalty,
      presencePenalty: body.presence_penalty,
      frequencyPenalty: body.frequency_penalty,
      stop,
      stopTokenIds: body.stop_token_ids,
      ignoreEos: body.ignore_eos,
    }).filter(([, v]) => v !== undefined),
  );
  return {
    ...present,
    model,
    ...(version !== undefined && { version }),
    prompt: body.text_input,
    maxTokens: body.max_tokens ?? GENERATE_DEFAULT_MAX_TOKENS,
  };
}
