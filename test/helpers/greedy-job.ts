import type { GenerationJob } from "../../src/generation/request/generation-request.js";
import { resolveSamplingParams } from "../../src/generation/request/sampling-params.js";

/**
 * A greedy generation job for the engine (scheduler tests, the engine-step bench):
 * `maxTokens` new tokens after `promptIds`, no stop tokens or strings, in a context of
 * `contextWindow` tokens.
 */
export function greedyJob(
  promptIds: number[],
  maxTokens: number,
  contextWindow: number,
): GenerationJob {
  return {
    promptIds,
    sampling: resolveSamplingParams({ temperature: 0 }),
    stopping: {
      eosTokenIds: [],
      stopTokenIds: [],
      stopStrings: [],
      maxTokens,
      promptTokens: promptIds.length,
      contextWindow,
    },
  };
}
