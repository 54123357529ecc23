import type { GenerationEnd } from "../generation/text-generator.js";
import type { Logger } from "./logger.js";

/**
 * The end-of-stream log line of every generation, gRPC and OpenAI alike:
 * `{model, version, request_id, finish_reason, prompt_tokens, completion_tokens,
 * ttft_ms, tokens_per_second}`. The RPC access log says how the call ended; this
 * line says how the generation did, so that a client that cancelled mid-stream
 * shows up as `finish_reason: "cancelled"` with the tokens it got. Never logs text.
 */
export function logGenerationEnd(logger: Logger): (end: GenerationEnd) => void {
  return (end) => {
    const line = {
      model: end.model,
      version: end.version,
      request_id: end.requestId,
      finish_reason: end.finishReason,
      prompt_tokens: end.promptTokens,
      completion_tokens: end.completionTokens,
      ...(end.timings && {
        ttft_ms: round(end.timings.timeToFirstTokenMs),
        tokens_per_second: round(end.timings.tokensPerSecond),
        total_ms: round(end.timings.totalMs),
      }),
    };
    if (end.finishReason === "error") logger.error(line, "generation ended");
    else logger.info(line, "generation ended");
  };
}

const round = (value: number) => Math.round(value * 1000) / 1000;
