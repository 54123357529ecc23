import type { SessionOptions } from "../../runtime/model-runtime.js";
import type { WorkerCloseMessage, WorkerLifecycleMessage } from "../../runtime/worker-envelope.js";
import type { TensorSpec } from "../../tensor/host-tensor.js";
import type { GenerationJob } from "../request/generation-request.js";
import type { FinishReason } from "../request/stopping-criteria.js";
import type { KvCacheMode } from "./decoder-signature.js";
import type { KvCacheSlots } from "./kv-cache-memory.js";
import type { PrefixCacheStats } from "./prefix-cache.js";

/** Passed as `workerData` to the generation worker. */
export interface GenerationWorkerData {
  readonly dir: string;
  readonly modelPath: string;
  readonly maxConcurrentSequences: number;
  /** Prompt tokens one scheduler step may prefill (chunked prefill; scheduler.ts). */
  readonly maxPrefillTokensPerStep: number;
  /** The same while sequences decode (at most the above). */
  readonly maxPrefillTokensWhileDecoding: number;
  /** Bytes of prompt-prefix KV blocks kept for reuse (prefix-cache.ts); 0: none. */
  readonly prefixCacheBytes: number;
  readonly session: SessionOptions;
  /** "append": rewrite the graph to append to the KV cache when it can (decoder-session.ts). */
  readonly kvCache: KvCacheMode;
  /** Set on every MatMulNBits node at load; absent: left as exported (decoder-load/load-time-edits.ts). */
  readonly matmulNBitsAccuracyLevel?: number;
}

/** A token's log-probability with its vocabulary piece. */
export interface TokenLogprobInfo {
  readonly tokenId: number;
  readonly token: string;
  readonly logprob: number;
}

/** The chosen token's log-probability and the top-n alternatives. */
export interface TokenLogprobs {
  readonly chosen: TokenLogprobInfo;
  readonly top: readonly TokenLogprobInfo[];
}

/**
 * What one step did for one sequence: `started` when it left the waiting queue,
 * then text and ids, and `finishReason` (or `error`) once, last.
 */
export interface SequenceEvent {
  readonly id: number;
  readonly started?: true;
  readonly text?: string;
  readonly tokenIds?: readonly number[];
  readonly logprobs?: readonly TokenLogprobs[];
  readonly finishReason?: FinishReason;
  readonly error?: string;
}

/**
 * Messages to a generation worker: `id` names the sequence (the parent's); `client`
 * is whose request it is (the fairness key); "pause" and "resume" follow whether the
 * sequence's reader has room for more.
 */
export type ToGenerationWorker =
  | {
      readonly type: "generate";
      readonly id: number;
      readonly job: GenerationJob;
      readonly client: string;
    }
  | { readonly type: "cancel" | "pause" | "resume"; readonly id: number }
  | WorkerCloseMessage;

/** Messages from a generation worker: "ready" carries the signature and KV-cache mode. */
export type FromGenerationWorker =
  | WorkerLifecycleMessage<{
      readonly inputs: readonly TensorSpec[];
      readonly outputs: readonly TensorSpec[];
      /** How the served graph grows its KV cache ("concat" when the rewrite did not apply). */
      readonly kvCache: KvCacheMode;
      /** Why "append" was asked for and not applied; "" otherwise. */
      readonly kvCacheNote: string;
      /** Bytes one cached token takes (kv-cache-memory.ts). */
      readonly kvBytesPerToken: number;
    }>
  /**
   * Every sequence's events of one step, in one message, and the KV cache after it
   * (events empty: the scheduler went idle, its cache emptied).
   */
  | {
      readonly type: "step";
      readonly events: readonly SequenceEvent[];
      readonly kv: KvCacheSlots;
      /** The prefix cache's counts after it; absent without one. */
      readonly prefix?: PrefixCacheStats;
    };
