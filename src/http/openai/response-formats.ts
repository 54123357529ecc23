import {
  chatChunk,
  chatLogprobs,
  chatObject,
  completionLogprobs,
  completionObject,
  finishReasonOf,
  type ResponseHead,
  TextOffsets,
  usageOf,
} from "./openai-responses.js";
import type { ResponseFormat } from "./respond-generation.js";

/** /v1/completions objects; `topN` is the request's `logprobs` (null: none). */
export function completionFormat(head: ResponseHead, topN: number | null): ResponseFormat {
  // A stream's chunks continue one text: each chunk's text_offset starts where the last ended.
  const offsets = new TextOffsets();
  const lps = (l: Parameters<typeof completionLogprobs>[0] | undefined) =>
    topN === null || l === undefined ? null : completionLogprobs(l, topN, offsets);
  return {
    delta: (text, logprobs) =>
      completionObject(head, { text, logprobs: lps(logprobs), finish_reason: null }, null),
    final: (finish) =>
      completionObject(
        head,
        { text: "", logprobs: null, finish_reason: finishReasonOf(finish) },
        null,
      ),
    usage: (usage) => completionObject(head, undefined, usage),
    whole: (text, logprobs, finish) =>
      completionObject(
        head,
        { text, logprobs: lps(logprobs ?? []), finish_reason: finishReasonOf(finish) },
        usageOf(finish),
      ),
  };
}

/** /v1/chat/completions objects; `topN` is `top_logprobs` when `logprobs` is true, else null. */
export function chatFormat(head: ResponseHead, topN: number | null): ResponseFormat {
  const lps = (l: Parameters<typeof chatLogprobs>[0] | undefined) =>
    topN === null || l === undefined ? null : chatLogprobs(l, topN);
  return {
    delta: (text, logprobs, first) =>
      chatChunk(
        head,
        {
          delta: first ? { role: "assistant", content: text } : { content: text },
          logprobs: lps(logprobs),
          finish_reason: null,
        },
        null,
      ),
    final: (finish) =>
      chatChunk(head, { delta: {}, logprobs: null, finish_reason: finishReasonOf(finish) }, null),
    usage: (usage) => chatChunk(head, undefined, usage),
    whole: (text, logprobs, finish) => chatObject(head, text, lps(logprobs ?? []), finish),
  };
}
