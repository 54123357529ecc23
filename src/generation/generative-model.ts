import { basename, dirname, join } from "node:path";
import {
  abortReasonToError,
  internal,
  invalidArgument,
  resourceExhausted,
  unavailable,
} from "../errors/inferd-error.js";
import type { Servable } from "../registry/model-registry.js";
import type { SessionOptions } from "../runtime/model-runtime.js";
import type { TensorSpec } from "../tensor/host-tensor.js";
import { AsyncQueue } from "./async-queue.js";
import type { KvCacheMode } from "./engine/decoder-signature.js";
import type {
  SequenceEvent,
  ToGenerationWorker,
  TokenLogprobs,
} from "./engine/generation-protocol.js";
import type { GenerationObserver } from "./generation-observer.js";
import { mergeEvents } from "./merge-events.js";
import {
  type ChatMessage,
  type ChatTemplate,
  createChatTemplate,
} from "./request/chat-template.js";
import { type GenerationConfig, loadGenerationConfig } from "./request/generation-config.js";
import { type GenerationRequest, resolveGenerationRequest } from "./request/generation-request.js";
import type { FinishReason } from "./request/stopping-criteria.js";
import { checkTextFits, loadTextTokenizer, type TextTokenizer } from "./request/tokenizer.js";
import {
  type GenerationWorkerReady,
  type GenerationWorkerThread,
  startGenerationWorker,
} from "./worker/generation-worker-thread.js";

/** Newly generated text (valid UTF-8, stop strings withheld) and the token ids behind it. */
export interface GenerationDelta {
  readonly text: string;
  readonly tokenIds: readonly number[];
  readonly logprobs?: readonly TokenLogprobs[];
  /** The prompt's length in tokens, on a stream's first delta only (for end reports). */
  readonly promptTokens?: number;
}

/** The last chunk of every stream. */
export interface GenerationFinish {
  readonly finishReason: FinishReason;
  readonly usage: { readonly promptTokens: number; readonly completionTokens: number };
  readonly timings: {
    readonly timeToFirstTokenMs: number;
    /** Decode speed: tokens after the first over the time since the first. */
    readonly tokensPerSecond: number;
    readonly totalMs: number;
  };
}

export type GenerationChunk = GenerationDelta | GenerationFinish;

/** Guard telling the final chunk from a delta. */
export const isGenerationFinish = (chunk: GenerationChunk): chunk is GenerationFinish =>
  "finishReason" in chunk;

/** A loaded decoder LLM: generation runs in its own worker thread. */
export interface GenerativeModel extends Servable {
  readonly kind: "generate";
  /** max_position_embeddings: prompt plus generated tokens. */
  readonly contextWindow: number;
  /**
   * Streams a generation: deltas (one per decode step, or everything produced since
   * the last read when the consumer lags), then one {@link GenerationFinish}. Validation
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
  /** How the served graph grows its KV cache: "append" once rewritten (decoder-session.ts). */
  readonly kvCache: KvCacheMode;
  /** Why kv_cache "append" was asked for but the export is served as it is; "" otherwise. */
  readonly kvCacheNote: string;
}

export interface GenerativeModelOptions {
  /** The version folder (tokenizer.json, tokenizer_config.json, config.json, ...). */
  dir: string;
  modelPath: string;
  maxConcurrentSequences: number;
  /** Requests that may wait for a slot; beyond, generate fails resource_exhausted. */
  maxWaiting: number;
  signal?: AbortSignal;
  /** ORT session options (model.json `session`), over {@link GENERATION_SESSION_DEFAULTS}. */
  session?: SessionOptions;
  /** Metrics hooks: first-token and inter-token times, token counts, sequence counts. */
  observer?: GenerationObserver;
  /** model.json `kv_cache`: "append" (default) rewrites the graph when it can, "concat" never. */
  kvCache?: KvCacheMode;
}

/**
 * Session defaults of a generation worker: one intra-op thread, no spinning. A decode
 * step is a long chain of tiny ops, so handing each to a thread pool costs more than it
 * saves (stories260k, one step at batch 1: 0.50 ms with one thread, 0.63 ms with ORT's
 * default of one per core, 0.70 ms without spinning), and idle pool threads spinning
 * would take the core the event loop needs to stream tokens. Large models on many
 * cores may want more: set `session.intra_op_threads` in model.json.
 */
export const GENERATION_SESSION_DEFAULTS: SessionOptions = {
  intraOpThreads: 1,
  allowSpinning: false,
};

/**
 * Loads a decoder model into a new worker thread and resolves once its session is
 * ready. @throws InferdError failed_precondition when the folder is not a usable
 * generative model, canceled when `signal` aborts.
 */
export async function loadGenerativeModel(
  options: GenerativeModelOptions,
): Promise<GenerativeModel> {
  const [tokenizer, config] = await Promise.all([
    loadTextTokenizer(options.dir),
    loadGenerationConfig(options.dir),
  ]);
  // Everything that can fail without the session comes first: no worker to clean up then.
  // The version folder is <repo>/<model>/<version>: name the model, never the path.
  const template = createChatTemplate(
    tokenizer.config,
    `model "${basename(dirname(options.dir))}"`,
  );
  const worker = startGenerationWorker({
    dir: options.dir,
    modelPath: options.modelPath || join(options.dir, "model.onnx"),
    maxConcurrentSequences: options.maxConcurrentSequences,
    session: { ...GENERATION_SESSION_DEFAULTS, ...options.session },
    kvCache: options.kvCache ?? "append",
  });
  const ready = await worker.whenReady(options.signal);
  return new WorkerGenerativeModel(worker, ready, tokenizer, template, config, options);
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

/** A stream's timings from `performance.now()` stamps: arrival, first token, end. */
export function generationTimings(
  arrivedAt: number,
  firstTokenAt: number | undefined,
  endedAt: number,
  completionTokens: number,
): GenerationFinish["timings"] {
  const decodeMs = firstTokenAt === undefined ? 0 : endedAt - firstTokenAt;
  return {
    timeToFirstTokenMs: firstTokenAt === undefined ? 0 : firstTokenAt - arrivedAt,
    tokensPerSecond:
      completionTokens > 1 && decodeMs > 0 ? ((completionTokens - 1) * 1000) / decodeMs : 0,
    totalMs: endedAt - arrivedAt,
  };
}

interface InFlight {
  readonly queue: AsyncQueue<SequenceEvent>;
  started: boolean;
  /** performance.now() at arrival, at the first and latest token, at the end (as routed). */
  readonly arrivedAt: number;
  firstTokenAt: number | undefined;
  lastTokenAt: number | undefined;
  endedAt: number | undefined;
}

class WorkerGenerativeModel implements GenerativeModel {
  readonly kind = "generate" as const;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly contextWindow: number;
  readonly kvCache: KvCacheMode;
  readonly kvCacheNote: string;
  private readonly inFlight = new Map<number, InFlight>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly worker: GenerationWorkerThread,
    ready: GenerationWorkerReady,
    private readonly tokenizer: TextTokenizer,
    private readonly template: ChatTemplate,
    private readonly config: GenerationConfig,
    private readonly options: GenerativeModelOptions,
  ) {
    this.inputs = ready.inputs;
    this.outputs = ready.outputs;
    this.kvCache = ready.kvCache;
    this.kvCacheNote = ready.kvCacheNote;
    this.contextWindow = config.contextWindow;
    worker.listen({
      message: (message) => {
        for (const event of message.events) this.route(event);
        this.options.observer?.onSequences(this.stats());
      },
      end: ({ error, exited }) =>
        this.failAll(
          exited
            ? unavailable("the generation worker has stopped")
            : internal(`generation worker crashed: ${error.message}`, error),
        ),
    });
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
    const capacity = this.options.maxConcurrentSequences + this.options.maxWaiting;
    if (this.inFlight.size >= capacity) {
      throw resourceExhausted(
        `the model is busy: ${this.options.maxConcurrentSequences} sequences running and ${this.options.maxWaiting} waiting (the limit); retry later`,
      );
    }
    const id = this.nextId++;
    const entry: InFlight = {
      queue: new AsyncQueue(),
      started: false,
      arrivedAt: startedAt,
      firstTokenAt: undefined,
      lastTokenAt: undefined,
      endedAt: undefined,
    };
    this.inFlight.set(id, entry);
    this.post({ type: "generate", id, job });
    this.options.observer?.onTokens("prompt", job.promptIds.length);
    this.options.observer?.onSequences(this.stats());
    const cancel = () => this.post({ type: "cancel", id });
    signal.addEventListener("abort", cancel, { once: true });
    // Tokens handed out: after an abort, usage counts what the client got, not what ran.
    let completion = 0;
    try {
      for await (const events of entry.queue.batches()) {
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

  /** Cancels what is still in flight, closes the session and ends the worker. */
  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
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
      this.inFlight.delete(event.id);
      entry.queue.end();
    }
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
    for (const entry of this.inFlight.values()) entry.queue.fail(error);
    this.inFlight.clear();
    this.options.observer?.onSequences(this.stats());
  }

  private post(message: ToGenerationWorker): void {
    this.worker.post(message);
  }
}
