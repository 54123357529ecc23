import type { GenerationJob } from "../request/generation-request.js";
import type { TextTokenizer } from "../request/tokenizer.js";
import type { DecoderSignature } from "./decoder-signature.js";
import { type DecoderRunner, runDecoderStep } from "./decoder-step.js";
import { FairQueue } from "./fair-queue.js";
import type { SequenceEvent } from "./generation-protocol.js";
import { GenerationSequence } from "./generation-sequence.js";
import { KvCache } from "./kv-cache.js";
import { type KvCacheSlots, kvCacheSlots } from "./kv-cache-memory.js";
import {
  DEFAULT_MAX_PREFILL_TOKENS_PER_STEP,
  DEFAULT_MAX_PREFILL_TOKENS_WHILE_DECODING,
  planPrefillChunks,
} from "./prefill-plan.js";
import type { PrefixBlock, PrefixCache, PrefixCacheStats } from "./prefix-cache.js";
import { startPrefill, storePrefill } from "./prefix-reuse.js";
import { joinGroup, mergeGroups, type RunningGroup } from "./running-groups.js";

/** What the scheduler decodes with (runner, shapes, tokenizer), how many at once, and where events go. */
export interface GenerationSchedulerOptions {
  readonly runner: DecoderRunner;
  readonly signature: DecoderSignature;
  readonly tokenizer: TextTokenizer;
  /** Sequences decoded together; the rest wait, taken round-robin across clients. */
  readonly maxConcurrentSequences: number;
  /**
   * Prompt tokens (padding included) one step may prefill, across sequences
   * (model.json `max_prefill_tokens_per_step`); default {@link DEFAULT_MAX_PREFILL_TOKENS_PER_STEP}.
   */
  readonly maxPrefillTokensPerStep?: number;
  /**
   * The budget while sequences decode (model.json `max_prefill_tokens_while_decoding`),
   * within `maxPrefillTokensPerStep`; default {@link DEFAULT_MAX_PREFILL_TOKENS_WHILE_DECODING}.
   */
  readonly maxPrefillTokensWhileDecoding?: number;
  /**
   * Row slots of padding two groups of running sequences may take on to decode in one
   * run (running-groups.ts: sharedRunSlack); default SHARED_RUN_SLACK_SLOTS.
   */
  readonly sharedRunSlack?: number;
  /**
   * Reused KV blocks of prompt prefixes (model.json `prefix_cache_bytes`): a newcomer
   * prefills only what follows its longest cached prefix; absent: none.
   */
  readonly prefixCache?: PrefixCache;
  /** Receives the events of a prefill, and of each decode step, as one array each. */
  readonly emit: (events: SequenceEvent[]) => void;
  /** Called when the last sequence has left (its KV cache is empty again). */
  readonly onIdle?: () => void;
}

/** A sequence whose prompt is being prefilled, chunk by chunk, into a cache of its own. */
interface Prefilling {
  readonly seq: GenerationSequence;
  readonly ids: readonly number[];
  cache: KvCache;
  /** Prompt tokens already in `cache`. */
  done: number;
  /** Prefix-cache blocks it was seeded from, pinned until it leaves prefill. */
  readonly pinned: readonly PrefixBlock[];
}

/**
 * Continuous batching: all running sequences of a model share each decode step.
 * At every step boundary, finished and cancelled sequences leave the batch (their
 * KV rows dropped) and waiting ones join while slots are free. Newcomers are
 * prefilled first (chunked prefill): each step, one run feeds at most
 * `maxPrefillTokensPerStep` prompt tokens, and at most `maxPrefillTokensWhileDecoding`
 * while sequences decode, oldest prompts first (prefill-plan.ts),
 * each appended to its sequence's own KV cache, then the running batch decodes one
 * token; so a long prompt delays each running stream's next token by one bounded
 * run, not by its whole prefill. A sequence whose prompt is complete samples its
 * first token from its last chunk's logits and its KV row joins a running group's
 * cache: rows of similar lengths decode in one run, and a row much longer or shorter
 * than the rest in a run of its own, so that no row attends over another's padding
 * (running-groups.ts). Waiting sequences are taken round-robin across clients (fair-queue.ts), so
 * one client's many requests do not delay another's single one.
 * A paused sequence (its client stopped reading) leaves the batch and its KV rows are
 * dropped; resumed, it waits again at the head of its client's line and is prefilled
 * with its prompt and the tokens it already produced (preemption by recompute).
 * With a prefix cache, a newcomer's cache starts as a copy of its prompt's longest
 * cached prefix (whole blocks), and a completed prompt's blocks are cached in turn.
 * The queue bounds are the caller's business (see worker-generative-model.ts).
 */
export class GenerationScheduler {
  private readonly waiting = new FairQueue<GenerationSequence>();
  private readonly paused = new Map<number, GenerationSequence>();
  /** Running sequences, in groups of similar cache lengths, one decode run each (running-groups.ts). */
  private groups: RunningGroup[] = [];
  private prefilling: Prefilling[] = [];
  private looping: Promise<void> | undefined;

  constructor(private readonly options: GenerationSchedulerOptions) {}

  private get runningCount(): number {
    return this.groups.reduce((n, g) => n + g.seqs.length, 0);
  }

  /** Queues `client`'s sequence; it starts at a step boundary with a free slot, in its client's turn. */
  submit(id: number, job: GenerationJob, client = ""): void {
    this.waiting.push(client, new GenerationSequence(id, job, this.options.tokenizer, client));
    this.looping ??= this.loop();
  }

  /** Marks a sequence cancelled; it leaves (freeing its slot) at the next step boundary. */
  cancel(id: number): void {
    const held = this.paused.get(id);
    if (held !== undefined) {
      // No step will look at it: it ends now.
      this.paused.delete(id);
      this.options.emit([{ id, finishReason: "cancelled" }]);
      return;
    }
    for (const seq of this.live()) if (seq.id === id) seq.cancelled = true;
  }

  /** Stops decoding a sequence from the next step boundary on (its reader is full), until {@link resume}. */
  pause(id: number): void {
    for (const seq of this.live()) if (seq.id === id && !seq.finished) seq.paused = true;
  }

  /** Lets a paused sequence decode again: it waits at the head of its client's line. */
  resume(id: number): void {
    const held = this.paused.get(id);
    if (held === undefined) {
      for (const seq of this.live()) if (seq.id === id) seq.paused = false;
      return;
    }
    this.paused.delete(id);
    held.paused = false;
    this.waiting.unshift(held.client, held);
    this.looping ??= this.loop();
  }

  stats(): { running: number; waiting: number; paused: number } {
    const waiting = this.waiting.size;
    const running = this.runningCount + this.prefilling.length;
    return { running, waiting, paused: this.paused.size };
  }

  /** The KV caches' slots now, over every group (the worker reports them with each step's events). */
  kvSlots(): KvCacheSlots {
    const total = { usedTokens: 0, reservedTokens: 0 };
    for (const { cache } of this.groups) {
      const slots = kvCacheSlots(cache);
      total.usedTokens += slots.usedTokens;
      total.reservedTokens += slots.reservedTokens;
    }
    return total;
  }

  /** The prefix cache's counts and size; undefined without one. */
  prefixStats(): PrefixCacheStats | undefined {
    return this.options.prefixCache?.stats();
  }

  /** Resolves once no step is running (every sequence finished or cancelled). */
  async idle(): Promise<void> {
    while (this.looping !== undefined) await this.looping;
  }

  private async loop(): Promise<void> {
    while (this.runningCount + this.prefilling.length > 0 || this.waiting.size > 0) {
      const events: SequenceEvent[] = [];
      try {
        this.compact(events);
        this.admit(events);
        if (this.prefilling.length > 0) await this.prefill(events);
        // Newcomers' first tokens go out now, not one decode step later (time to first token).
        this.flush(events);
        this.compact(events);
        if (this.groups.length > 0) await this.decode(events);
      } catch (error) {
        this.failAll(events, error);
      }
      this.flush(events);
      // Let "generate" and "cancel" messages in between steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.looping = undefined;
    this.options.onIdle?.();
  }

  private flush(events: SequenceEvent[]): void {
    if (events.length > 0) this.options.emit(events.splice(0));
  }

  /** Moves waiting sequences into free slots, to be prefilled. */
  private admit(events: SequenceEvent[]): void {
    const free = this.options.maxConcurrentSequences - this.runningCount - this.prefilling.length;
    if (free <= 0 || this.waiting.size === 0) return;
    for (const seq of this.waiting.take(free)) {
      if (!seq.started) events.push({ id: seq.id, started: true });
      seq.started = true;
      const ids = seq.prefillIds();
      const start = startPrefill(this.options.signature, ids, this.options.prefixCache);
      this.prefilling.push({ seq, ids, ...start });
    }
  }

  /** Prompt tokens this step may prefill: each chunk is a gap in every running stream. */
  private prefillBudget(): number {
    const cap = this.options.maxPrefillTokensPerStep ?? DEFAULT_MAX_PREFILL_TOKENS_PER_STEP;
    if (this.runningCount === 0) return cap;
    const whileDecoding =
      this.options.maxPrefillTokensWhileDecoding ?? DEFAULT_MAX_PREFILL_TOKENS_WHILE_DECODING;
    return Math.min(cap, whileDecoding);
  }

  /**
   * One prefill run within the token budget; sequences whose prompt it completes
   * sample their first token and join a running group.
   */
  private async prefill(events: SequenceEvent[]): Promise<void> {
    const chunks = planPrefillChunks(
      this.prefilling.map((p) => p.ids.length - p.done),
      this.prefillBudget(),
    );
    const part = this.prefilling.slice(0, chunks.length);
    const caches = part.map((p) => p.cache);
    const first = caches[0] ?? KvCache.empty(this.options.signature, 0);
    const joint = caches.slice(1).reduce((all, c) => all.concat(c), first);
    const tokens = part.map((p, i) => p.ids.slice(p.done, p.done + (chunks[i] ?? 0)));
    const { logits, cache } = await runDecoderStep(this.options.runner, joint, tokens);
    part.forEach((p, i) => {
      p.cache = part.length === 1 ? cache : cache.select([i]);
      p.done += tokens[i]?.length ?? 0;
      if (p.done < p.ids.length) return;
      this.leavePrefill(p, true);
      joinGroup(this.groups, p.seq, p.cache, this.options.sharedRunSlack);
      events.push(p.seq.step(logits[i] ?? new Float32Array(0)));
    });
    this.prefilling = this.prefilling.filter((p) => p.done < p.ids.length);
  }

  /** One decode step for every running sequence: one run per group. */
  private async decode(events: SequenceEvent[]): Promise<void> {
    for (const group of this.groups) {
      const tokens = group.seqs.map((s) => [s.lastToken]);
      const { logits, cache } = await runDecoderStep(this.options.runner, group.cache, tokens);
      group.cache = cache;
      group.seqs.forEach((seq, i) => {
        events.push(seq.step(logits[i] ?? new Float32Array(0)));
      });
    }
  }

  /**
   * Drops finished and cancelled sequences (and their KV rows), cancelled waiters too;
   * sets paused ones aside (a running one's KV rows dropped as well, a prefilling one's
   * chunks too: it is prefilled afresh when resumed).
   */
  private compact(events: SequenceEvent[]): void {
    const leaving = (s: GenerationSequence) => s.cancelled || s.paused;
    const prefillLeavers = this.prefilling.filter((p) => leaving(p.seq)).map((p) => p.seq);
    for (const p of this.prefilling) if (leaving(p.seq)) this.leavePrefill(p, false);
    this.prefilling = this.prefilling.filter((p) => !leaving(p.seq));
    for (const seq of [...this.waiting.remove(leaving), ...prefillLeavers]) {
      if (seq.cancelled) events.push({ id: seq.id, finishReason: "cancelled" });
      else this.paused.set(seq.id, seq);
    }
    let changed = false;
    for (const group of this.groups) {
      const keep: number[] = [];
      group.seqs.forEach((seq, row) => {
        if (seq.cancelled && !seq.finished) events.push({ id: seq.id, finishReason: "cancelled" });
        else if (seq.paused && !seq.finished) this.paused.set(seq.id, seq);
        else if (!seq.finished) keep.push(row);
      });
      if (keep.length === group.seqs.length) continue;
      changed = true;
      group.cache = group.cache.select(keep);
      group.seqs = keep.map((row) => group.seqs[row]).filter((s) => s !== undefined);
    }
    // Trimmed caches may now share a run.
    if (changed) this.groups = mergeGroups(this.groups, this.options.sharedRunSlack);
  }

  /** Unpins a sequence's prefix blocks; a complete prompt's own blocks are cached first. */
  private leavePrefill(p: Prefilling, complete: boolean): void {
    const prefix = this.options.prefixCache;
    if (prefix === undefined) return;
    if (complete) storePrefill(prefix, p.cache, p.ids);
    prefix.release(p.pinned);
  }

  private *live(): IterableIterator<GenerationSequence> {
    yield* this.waiting.values();
    for (const p of this.prefilling) yield p.seq;
    for (const group of this.groups) yield* group.seqs;
  }

  /** A failed run ends every running sequence with the error; the batch starts afresh. */
  private failAll(events: SequenceEvent[], error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const seqs = [...this.prefilling.map((p) => p.seq), ...this.groups.flatMap((g) => g.seqs)];
    for (const seq of seqs) if (!seq.finished) events.push({ id: seq.id, error: message });
    for (const p of this.prefilling) this.leavePrefill(p, false);
    this.groups = [];
    this.prefilling = [];
  }
}
