import {
  abortReasonToError,
  type InferdError,
  internal,
  invalidArgument,
  resourceExhausted,
  unavailable,
} from "../errors/inferd-error.js";
import type { VersionMemory } from "../registry/version-memory.js";
import type { TensorSpec } from "../tensor/host-tensor.js";
import { AsyncQueue } from "./async-queue.js";
import type { KvCacheMode } from "./engine/decoder-signature.js";
import type { SequenceEvent, ToGenerationWorker } from "./engine/generation-protocol.js";
import type { KvCacheSlots } from "./engine/kv-cache-memory.js";
import type { PrefixCacheStats } from "./engine/prefix-cache.js";
import {
  type GenerationChunk,
  type GenerationDelta,
  type GenerationFinish,
  generationTimings,
} from "./generation-chunk.js";
import type { GenerationObserver } from "./generation-observer.js";
import type { GenerativeModel } from "./generative-model.js";
import { mergeEvents } from "./merge-events.js";
import type { ChatMessage, ChatTemplate } from "./request/chat-template.js";
import type { GenerationConfig } from "./request/generation-config.js";
import { type GenerationRequest, resolveGenerationRequest } from "./request/generation-request.js";
import type { FinishReason } from "./request/stopping-criteria.js";
import { checkTextFits, type TextTokenizer } from "./request/tokenizer.js";
import type {
  GenerationWorkerReady,
  GenerationWorkerThread,
} from "./worker/generation-worker-thread.js";

/** The limits and hooks of `loadGenerativeModel`'s options the model itself uses. */
export interface WorkerGenerativeModelOptions {
  maxConcurrentSequences: number;
  /** Requests that may wait for a slot; beyond, generate fails resource_exhausted. */
  maxWaiting: number;
  /**
   * Sequences one client may have running plus waiting; beyond, its generate fails
   * resource_exhausted at once. Default {@link defaultMaxSequencesPerClient}.
   * Requests without a client (`client` "" or absent) are not counted.
   */
  maxSequencesPerClient?: number;
  /**
   * Step events one call may hold unread before its sequence is paused (default
   * {@link DEFAULT_MAX_BUFFERED_EVENTS}); it resumes once its reader takes them.
   */
  maxBufferedEvents?: number;
  /**
   * How long a paused call (its reader full) may stay unread before it is cancelled
   * with resource_exhausted and its buffer dropped; 0 or absent: never.
   */
  streamStallTimeoutMs?: number;
  /** Metrics hooks: first-token and inter-token times, token counts, sequence counts, memory. */
  observer?: GenerationObserver;
  /** Called once, when the model is disposed (the server counts the generative versions it holds). */
  onDispose?: () => void;
  /** The model's weight bytes, for {@link WorkerGenerativeModel.memory} (default 0). */
  weightBytes?: number;
  /** The KV-cache budget checked at load, for {@link WorkerGenerativeModel.memory} (default 0). */
  kvCacheBudgetBytes?: number;
  /** model.json `prefix_cache_bytes`, for {@link WorkerGenerativeModel.memory} (default 0: none). */
  prefixCacheBytes?: number;
}

/**
 * The last chunk: usage, and timings from when the worker's events arrived (not when
 * the consumer read them). Tokens/s is the decode speed: tokens after the first over
 * the time since the first.
 */
function finishOf(
  finishReason: FinishReason,
  entry: InFlight,
  promptTokens: number,
  completionTokens: number,
): GenerationFinish {
  const end = entry.endedAt ?? performance.now();
  return {
    finishReason,
    usage: { promptTokens, completionTokens },
    timings: generationTimings(entry.arrivedAt, entry.firstTokenAt, end, completionTokens),
  };
}

/** Step events (about one token each) a call may hold unread before its sequence pauses. */
export const DEFAULT_MAX_BUFFERED_EVENTS = 64;

/**
 * The per-client cap when model.json sets none: a quarter of what the model admits
 * (running plus waiting), so that one client cannot take the whole queue and at least
 * four can share it; but never less than every decode slot plus one waiting, so that
 * a lone client is not slowed down by the cap (16 + 256: 68; 1 + 1: 2).
 */
export function defaultMaxSequencesPerClient(
  maxConcurrentSequences: number,
  maxWaiting: number,
): number {
  const quarter = Math.floor((maxConcurrentSequences + maxWaiting) / 4);
  return Math.max(maxConcurrentSequences + 1, quarter);
}

interface InFlight {
  readonly queue: AsyncQueue<SequenceEvent>;
  readonly client: string;
  readonly onStall: ((error: InferdError) => void) | undefined;
  started: boolean;
  /** "pause" was posted (the reader is full) and no "resume" yet. */
  paused: boolean;
  /** Runs out `streamStallTimeoutMs` after the pause, unless the reader catches up. */
  stall: ReturnType<typeof setTimeout> | undefined;
  /** performance.now() at arrival, at the first and latest token, at the end (as routed). */
  readonly arrivedAt: number;
  firstTokenAt: number | undefined;
  lastTokenAt: number | undefined;
  endedAt: number | undefined;
}

/**
 * A `GenerativeModel` over a generation worker thread that is already ready: it
 * validates and queues requests (up to `maxConcurrentSequences + maxWaiting`), routes
 * the worker's step events to each stream, and fails every stream when the worker
 * crashes or exits. Built by `loadGenerativeModel`, which owns the worker's startup.
 */
export class WorkerGenerativeModel implements GenerativeModel {
  readonly kind = "generate" as const;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly contextWindow: number;
  readonly kvCache: KvCacheMode;
  readonly kvCacheNote: string;
  private readonly inFlight = new Map<number, InFlight>();
  /** Sequences in flight per client (running or waiting), for the per-client cap. */
  private readonly perClient = new Map<string, number>();
  private nextId = 1;
  private closed = false;
  private readonly kvBytesPerToken: number;
  /** The worker's KV cache as of its latest step. */
  private kv: KvCacheSlots = { usedTokens: 0, reservedTokens: 0 };
  /** The worker's prefix cache as of its latest step; undefined without one. */
  private prefix: PrefixCacheStats | undefined;

  constructor(
    private readonly worker: GenerationWorkerThread,
    ready: GenerationWorkerReady,
    private readonly tokenizer: TextTokenizer,
    private readonly template: ChatTemplate,
    private readonly config: GenerationConfig,
    private readonly options: WorkerGenerativeModelOptions,
  ) {
    this.inputs = ready.inputs;
    this.outputs = ready.outputs;
    this.kvCache = ready.kvCache;
    this.kvCacheNote = ready.kvCacheNote;
    this.contextWindow = config.contextWindow;
    this.kvBytesPerToken = ready.kvBytesPerToken;
    worker.listen({
      message: (message) => {
        this.kv = message.kv;
        this.prefix = message.prefix;
        for (const event of message.events) this.route(event);
        this.options.observer?.onSequences(this.stats());
        this.options.observer?.onMemory(this.memory());
        if (message.prefix) this.options.observer?.onPrefixCache?.(message.prefix);
      },
      end: ({ error, exited }) =>
        this.failAll(
          exited
            ? unavailable("the generation worker has stopped")
            : internal(`generation worker crashed: ${error.message}`, error),
        ),
    });
    this.options.observer?.onMemory(this.memory());
  }

  async *generate(request: GenerationRequest, signal: AbortSignal): AsyncIterable<GenerationChunk> {
    if (this.closed) throw unavailable("the model is being unloaded");
    if (this.worker.dead) throw unavailable("the generation worker has stopped");
    if (signal.aborted) throw abortReasonToError(signal);
    const startedAt = performance.now();
    const job = resolveGenerationRequest(request, {
      tokenizer: this.tokenizer,
      chatTemplate: this.template,
      contextWindow: this.config.contextWindow,
      eosTokenIds: this.config.eosTokenIds,
    });
    const client = request.client ?? "";
    this.admit(client);
    const id = this.nextId++;
    const entry: InFlight = {
      queue: new AsyncQueue(),
      client,
      onStall: request.onStall,
      started: false,
      paused: false,
      stall: undefined,
      arrivedAt: startedAt,
      firstTokenAt: undefined,
      lastTokenAt: undefined,
      endedAt: undefined,
    };
    this.inFlight.set(id, entry);
    this.perClient.set(client, (this.perClient.get(client) ?? 0) + 1);
    this.post({ type: "generate", id, job, client });
    this.options.observer?.onTokens("prompt", job.promptIds.length);
    this.options.observer?.onSequences(this.stats());
    const cancel = () => this.post({ type: "cancel", id });
    signal.addEventListener("abort", cancel, { once: true });
    // Tokens handed out: after an abort, usage counts what the client got, not what ran.
    let completion = 0;
    try {
      for await (const events of entry.queue.batches()) {
        // The reader took what was buffered: the sequence may decode again.
        if (entry.paused && this.inFlight.has(id)) {
          entry.paused = false;
          clearTimeout(entry.stall);
          this.post({ type: "resume", id });
        }
        const merged = mergeEvents(events);
        // After an abort, deltas still buffered or in flight are dropped: the client left.
        if (!signal.aborted && (merged.text !== "" || merged.tokenIds.length > 0)) {
          const delta: GenerationDelta = {
            text: merged.text,
            tokenIds: merged.tokenIds,
            ...(merged.logprobs !== undefined && { logprobs: merged.logprobs }),
            ...(completion === 0 && { promptTokens: job.promptIds.length }),
          };
          completion += merged.tokenIds.length;
          yield delta;
        }
        if (merged.error !== undefined) throw internal(`generation failed: ${merged.error}`);
        if (merged.finishReason !== undefined) {
          yield finishOf(merged.finishReason, entry, job.promptIds.length, completion);
          return;
        }
      }
    } finally {
      signal.removeEventListener("abort", cancel);
      clearTimeout(entry.stall);
      if (this.inFlight.has(id)) cancel();
    }
  }

  tokenize(text: string, addSpecialTokens: boolean): number[] {
    checkTextFits(this.tokenizer, text.length, this.contextWindow, "the text");
    return this.tokenizer.encode(text, addSpecialTokens);
  }

  detokenize(ids: readonly number[], skipSpecialTokens: boolean): string {
    if (ids.length > this.contextWindow) {
      throw invalidArgument(
        `${ids.length} token ids are more than the context window of ${this.contextWindow}`,
      );
    }
    return this.tokenizer.decode(ids, skipSpecialTokens);
  }

  idToToken(id: number): string {
    return this.tokenizer.idToToken(id);
  }

  renderChat(messages: readonly ChatMessage[]): string {
    return this.template.render(messages);
  }

  stats(): { running: number; waiting: number } {
    let running = 0;
    for (const entry of this.inFlight.values()) if (entry.started) running++;
    return { running, waiting: this.inFlight.size - running };
  }

  /**
   * The worker's prefix cache as of its latest step (lookups, hits, prompt tokens
   * reused, blocks and bytes held); undefined when model.json turns it off.
   */
  prefixCacheStats(): PrefixCacheStats | undefined {
    return this.prefix;
  }

  memory(): VersionMemory {
    const perToken = this.kvBytesPerToken;
    return {
      weightBytes: this.options.weightBytes ?? 0,
      kvCacheBytesPerToken: perToken,
      kvCacheUsedBytes: this.kv.usedTokens * perToken,
      kvCacheReservedBytes: this.kv.reservedTokens * perToken,
      kvCacheMaxBytes: this.options.maxConcurrentSequences * this.contextWindow * perToken,
      kvCacheBudgetBytes: this.options.kvCacheBudgetBytes ?? 0,
      prefixCacheUsedBytes: this.prefix?.bytes ?? 0,
      prefixCacheBudgetBytes: this.options.prefixCacheBytes ?? 0,
    };
  }

  /** Cancels what is still in flight, closes the session and ends the worker. */
  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.options.onDispose?.();
    for (const id of this.inFlight.keys()) this.post({ type: "cancel", id });
    await this.worker.close();
  }

  private route(event: SequenceEvent): void {
    const entry = this.inFlight.get(event.id);
    if (entry === undefined) return;
    if (event.started) entry.started = true;
    const tokens = event.tokenIds?.length ?? 0;
    const now = performance.now();
    if (tokens > 0) {
      this.observe(entry, tokens, now);
      entry.firstTokenAt ??= now;
      entry.lastTokenAt = now;
    }
    entry.queue.push(event);
    if (event.finishReason !== undefined || event.error !== undefined) {
      entry.endedAt = now;
      this.forget(event.id, entry);
      entry.queue.end();
    } else if (!entry.paused && entry.queue.length >= this.maxBuffered()) {
      // Its reader is not keeping up: stop producing for it rather than buffer without bound.
      entry.paused = true;
      this.post({ type: "pause", id: event.id });
      this.armStall(event.id, entry);
    }
  }

  /**
   * After `streamStallTimeoutMs` unread, the call is cancelled: the sequence ends, what
   * it buffered is dropped, and its reader (if it ever reads) gets resource_exhausted:
   * the call used up its share of buffer and time, which is a quota, not a deadline the
   * client set (deadline_exceeded) nor a cancel it asked for (canceled).
   */
  private armStall(id: number, entry: InFlight): void {
    const ms = this.options.streamStallTimeoutMs ?? 0;
    if (ms <= 0) return;
    entry.stall = setTimeout(() => {
      if (this.inFlight.get(id) !== entry) return;
      this.post({ type: "cancel", id });
      this.forget(id, entry);
      const error = resourceExhausted(
        `the client read nothing for ${ms} ms while ${this.maxBuffered()} tokens waited (--stream-stall-timeout-ms); the generation was cancelled`,
      );
      entry.queue.abandon(error);
      this.options.observer?.onSequences(this.stats());
      // Its reader is stuck on a write: only the transport can end the call now.
      entry.onStall?.(error);
    }, ms);
    // A stalled reader must not keep the process alive on its own.
    entry.stall.unref?.();
  }

  /** Refuses a call past the model's capacity or past its client's share of it. */
  private admit(client: string): void {
    const { maxConcurrentSequences, maxWaiting } = this.options;
    if (this.inFlight.size >= maxConcurrentSequences + maxWaiting) {
      throw resourceExhausted(
        `the model is busy: ${maxConcurrentSequences} sequences running and ${maxWaiting} waiting (the limit); retry later`,
      );
    }
    const cap =
      this.options.maxSequencesPerClient ??
      defaultMaxSequencesPerClient(maxConcurrentSequences, maxWaiting);
    const mine = this.perClient.get(client) ?? 0;
    if (client !== "" && mine >= cap) {
      throw resourceExhausted(
        `this client already has ${mine} sequences running or waiting on this model, its limit (max_sequences_per_client ${cap}); retry when one ends`,
      );
    }
  }

  private maxBuffered(): number {
    return this.options.maxBufferedEvents ?? DEFAULT_MAX_BUFFERED_EVENTS;
  }

  private forget(id: number, entry: InFlight): void {
    this.inFlight.delete(id);
    const left = (this.perClient.get(entry.client) ?? 1) - 1;
    if (left > 0) this.perClient.set(entry.client, left);
    else this.perClient.delete(entry.client);
  }

  /** Reports a step's tokens of one sequence (before `entry` records them); a step's gap is spread over its tokens. */
  private observe(entry: InFlight, tokens: number, now: number): void {
    const observer = this.options.observer;
    if (observer === undefined) return;
    observer.onTokens("completion", tokens);
    if (entry.lastTokenAt === undefined) {
      observer.onFirstToken((now - entry.arrivedAt) / 1000);
      for (let i = 1; i < tokens; i++) observer.onInterToken(0);
    } else {
      const gap = (now - entry.lastTokenAt) / 1000 / tokens;
      for (let i = 0; i < tokens; i++) observer.onInterToken(gap);
    }
  }

  private failAll(error: Error): void {
    for (const entry of this.inFlight.values()) {
      clearTimeout(entry.stall);
      entry.queue.fail(error);
    }
    this.inFlight.clear();
    this.perClient.clear();
    this.options.observer?.onSequences(this.stats());
  }

  private post(message: ToGenerationWorker): void {
    this.worker.post(message);
  }
}
