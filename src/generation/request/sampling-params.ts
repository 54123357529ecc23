import { invalidArgument } from "../../errors/inferd-error.js";

/** Sampling knobs of a request, as `inferd.v1.GenerateRequest` defines them; absent means default. */
export interface SamplingParams {
  /** 0 is greedy. Default 1. */
  temperature?: number;
  /** 0 disables. */
  topK?: number;
  /** In (0, 1]; 1 disables. */
  topP?: number;
  /** In [0, 1]; 0 disables. */
  minP?: number;
  /** > 0; 1 disables (Hugging Face semantics). */
  repetitionPenalty?: number;
  /** In [-2, 2] (OpenAI semantics). */
  presencePenalty?: number;
  /** In [-2, 2] (OpenAI semantics). */
  frequencyPenalty?: number;
  /**
   * Same seed, same output; absent draws a random seed. Any safe integer (OpenAI's are
   * int64): a protobuf int64 comes as a bigint, so that a refusal echoes it exactly.
   */
  seed?: number | bigint;
  /** Top-n log-probabilities per generated token; 0 none. */
  logprobs?: number;
  /**
   * OpenAI's `logit_bias`: added to a token's logit before anything else (greedy too),
   * each in [-100, 100]. Token ids are checked against the vocabulary by the request.
   */
  logitBias?: Readonly<Record<number, number>>;
}

/** {@link SamplingParams} with every default filled in, after validation. */
export interface ResolvedSamplingParams {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
  readonly repetitionPenalty: number;
  readonly presencePenalty: number;
  readonly frequencyPenalty: number;
  readonly seed: number | undefined;
  readonly logprobs: number;
  /** `[tokenId, bias]` pairs; empty when none. */
  readonly logitBias: readonly (readonly [number, number])[];
}

/** Largest magnitude of a `logit_bias` value (OpenAI's limit). */
export const MAX_LOGIT_BIAS = 100;

/** Most log-probabilities a request may ask for per token (OpenAI allows 20). */
export const MAX_LOGPROBS = 20;

/**
 * Checks every knob against its documented range and fills defaults.
 * @throws InferdError invalid_argument naming the parameter, its value and the limit.
 */
export function resolveSamplingParams(params: SamplingParams): ResolvedSamplingParams {
  const temperature = params.temperature ?? 1;
  check(
    Number.isFinite(temperature) && temperature >= 0,
    "temperature",
    temperature,
    "must be >= 0 (0 is greedy)",
  );
  const topK = params.topK ?? 0;
  check(Number.isInteger(topK) && topK >= 0, "top_k", topK, "must be an integer >= 0 (0 disables)");
  const topP = params.topP ?? 1;
  check(topP > 0 && topP <= 1, "top_p", topP, "must be in (0, 1] (1 disables)");
  const minP = params.minP ?? 0;
  check(minP >= 0 && minP <= 1, "min_p", minP, "must be in [0, 1] (0 disables)");
  const repetitionPenalty = params.repetitionPenalty ?? 1;
  check(
    Number.isFinite(repetitionPenalty) && repetitionPenalty > 0,
    "repetition_penalty",
    repetitionPenalty,
    "must be > 0 (1 disables)",
  );
  const presencePenalty = params.presencePenalty ?? 0;
  check(Math.abs(presencePenalty) <= 2, "presence_penalty", presencePenalty, "must be in [-2, 2]");
  const frequencyPenalty = params.frequencyPenalty ?? 0;
  check(
    Math.abs(frequencyPenalty) <= 2,
    "frequency_penalty",
    frequencyPenalty,
    "must be in [-2, 2]",
  );
  const logprobs = params.logprobs ?? 0;
  check(
    Number.isInteger(logprobs) && logprobs >= 0 && logprobs <= MAX_LOGPROBS,
    "logprobs",
    logprobs,
    `must be an integer in [0, ${MAX_LOGPROBS}]`,
  );
  const logitBias = resolveLogitBias(params.logitBias);
  const seed = params.seed === undefined ? undefined : Number(params.seed);
  if (params.seed !== undefined) {
    // A bigint past 2^53 converts to a number of magnitude >= 2^53: never a safe integer.
    const ok = Number.isSafeInteger(seed);
    check(ok, "seed", params.seed, "must be an integer of magnitude below 2^53");
  }
  return {
    temperature,
    topK,
    topP,
    minP,
    repetitionPenalty,
    presencePenalty,
    frequencyPenalty,
    seed,
    logprobs,
    logitBias,
  };
}

function resolveLogitBias(bias: SamplingParams["logitBias"]): [number, number][] {
  const pairs: [number, number][] = [];
  for (const [key, value] of Object.entries(bias ?? {})) {
    const id = Number(key);
    // No leading zeros: "7" and "007" would otherwise bias token 7 twice, past the limit.
    if (!/^(0|[1-9]\d*)$/.test(key) || !Number.isSafeInteger(id)) {
      throw invalidArgument(
        `logit_bias key "${key}" is not a token id (an integer >= 0, no leading zeros)`,
      );
    }
    check(
      Number.isFinite(value) && Math.abs(value) <= MAX_LOGIT_BIAS,
      `logit_bias[${id}]`,
      value,
      `must be in [-${MAX_LOGIT_BIAS}, ${MAX_LOGIT_BIAS}]`,
    );
    if (value !== 0) pairs.push([id, value]);
  }
  return pairs;
}

/**
 * `value` is printed as the core got it: float32 fields arrive as the shortest decimal
 * (services/ applies `shortestFloat32`), int64 seeds as bigints, so the message echoes
 * what the client sent, never float noise or a rounded integer.
 */
function check(ok: boolean, name: string, value: number | bigint, limit: string): void {
  // NaN fails every comparison above, so it lands here too.
  if (!ok) throw invalidArgument(`${name} ${value} is out of range: ${name} ${limit}`);
}
