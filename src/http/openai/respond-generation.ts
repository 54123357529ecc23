import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import type { TokenLogprobs } from "../../generation/engine/generation-protocol.js";
import { type GenerationFinish, isGenerationFinish } from "../../generation/generation-chunk.js";
import type { StartedGeneration } from "../../generation/text-generator.js";
import { sendJson } from "../http-route.js";
import { createSseWriter } from "../sse-writer.js";
import { type OpenAiUsage, usageOf } from "./openai-responses.js";

/** How one endpoint (completions or chat) shapes its objects. */
export interface ResponseFormat {
  /** A stream chunk for a delta; `first` lets chat add the assistant role. */
  delta(text: string, logprobs: readonly TokenLogprobs[] | undefined, first: boolean): object;
  /** The stream chunk carrying the finish reason. */
  final(finish: GenerationFinish): object;
  /** The trailing chunk of `stream_options.include_usage`. */
  usage(usage: OpenAiUsage): object;
  /** The whole non-streaming response. */
  whole(
    text: string,
    logprobs: readonly TokenLogprobs[] | undefined,
    finish: GenerationFinish,
  ): object;
}

/** How to answer: server-sent events or one JSON body, and whether a stream ends with a usage chunk. */
export interface RespondOptions {
  readonly stream: boolean;
  readonly includeUsage: boolean;
}

/**
 * Answers with a started generation: server-sent events (a chunk per delta, the
 * finish chunk, the usage chunk when asked, `[DONE]`) or one JSON object. A stream
 * that ends "cancelled" (the client left) writes nothing more.
 */
export async function respondGeneration(
  res: ServerResponse | Http2ServerResponse,
  req: Parameters<typeof sendJson>[0],
  started: StartedGeneration,
  format: ResponseFormat,
  options: RespondOptions,
): Promise<void> {
  if (options.stream) {
    const sse = createSseWriter(res);
    let first = true;
    for await (const chunk of started.chunks) {
      if (!isGenerationFinish(chunk)) {
        // Tokens whose bytes are held back (half a UTF-8 character) make no event of their own.
        if (chunk.text === "" && chunk.logprobs === undefined) continue;
        await sse.send(format.delta(chunk.text, chunk.logprobs, first));
        first = false;
        continue;
      }
      if (chunk.finishReason === "cancelled") return;
      await sse.send(format.final(chunk));
      if (options.includeUsage) await sse.send(format.usage(usageOf(chunk)));
      sse.done();
    }
    return;
  }
  let text = "";
  const logprobs: TokenLogprobs[] = [];
  for await (const chunk of started.chunks) {
    if (!isGenerationFinish(chunk)) {
      text += chunk.text;
      logprobs.push(...(chunk.logprobs ?? []));
    } else if (chunk.finishReason !== "cancelled") {
      const lps = logprobs.length > 0 ? logprobs : undefined;
      sendJson(req, res, 200, format.whole(text, lps, chunk));
    }
  }
}
