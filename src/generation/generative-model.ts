import type { Servable } from "../registry/model-registry.js";
import type { VersionMemory } from "../registry/version-memory.js";
import type { KvCacheMode } from "./engine/decoder-signature.js";
import type { GenerationChunk } from "./generation-chunk.js";
import type { ChatMessage } from "./request/chat-template.js";
import type { GenerationRequest } from "./request/generation-request.js";

/** A loaded decoder LLM: generation runs in its own worker thread. */
export interface GenerativeModel extends Servable {
  readonly kind: "generate";
  /** max_position_embeddings: prompt plus generated tokens. */
  readonly contextWindow: number;
  /**
   * Streams a generation: deltas (one per decode step, or everything produced since
   * the last read when the consumer lags), then one `GenerationFinish`. Validation
   * errors (invalid_argument, failed_precondition) and a full queue
   * (resource_exhausted) are thrown by the first `next()`. Aborting `signal`, or
   * leaving the loop early, cancels the sequence (its slot frees at the next step
   * boundary); after an abort no more deltas are yielded and the stream ends with
   * finishReason "cancelled".
   */
  generate(request: GenerationRequest, signal: AbortSignal): AsyncIterable<GenerationChunk>;
  tokenize(text: string, addSpecialTokens: boolean): number[];
  detokenize(ids: readonly number[], skipSpecialTokens: boolean): string;
  /** The vocabulary piece of `id` ("▁the", "<0xC3>"), "" when out of range. */
  idToToken(id: number): string;
  /** The chat template's rendering; failed_precondition when the model has none. */
  renderChat(messages: readonly ChatMessage[]): string;
  /** Sequences decoding now and waiting for a slot. */
  stats(): { running: number; waiting: number };
  /** Weight and KV-cache bytes, the cache as of the worker's latest step. */
  memory(): VersionMemory;
  /** How the served graph grows its KV cache: "append" once rewritten (decoder-session.ts). */
  readonly kvCache: KvCacheMode;
  /** Why kv_cache "append" was asked for but the export is served as it is; "" otherwise. */
  readonly kvCacheNote: string;
}
