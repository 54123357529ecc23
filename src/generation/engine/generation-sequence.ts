import type { GenerationJob } from "../request/generation-request.js";
import { StoppingCriteria } from "../request/stopping-criteria.js";
import type { TextTokenizer } from "../request/tokenizer.js";
import type { SequenceEvent, TokenLogprobs } from "./generation-protocol.js";
import { IncrementalDetokenizer } from "./incremental-detokenizer.js";
import { Sampler } from "./sampler.js";

/**
 * One request's state inside the scheduler: its sampler (penalties, seeded
 * randomness), detokenizer and stopping criteria. `step` turns a logits row into
 * the event the client sees.
 */
export class GenerationSequence {
  /** The token to feed at the next decode step. */
  lastToken = -1;
  finished = false;
  cancelled = false;
  /** Left the waiting queue once (its "started" event is sent once, even if it resumes). */
  started = false;
  /** Its client stopped reading: it leaves the batch at the next step boundary until resumed. */
  paused = false;
  /** Every token sampled so far: a preempted sequence re-prefills prompt plus these. */
  private readonly sampled: number[] = [];
  private readonly sampler: Sampler;
  private readonly detokenizer: IncrementalDetokenizer;
  private readonly stopping: StoppingCriteria;

  constructor(
    readonly id: number,
    readonly job: GenerationJob,
    private readonly tokenizer: TextTokenizer,
    /** Whose request it is: the scheduler takes waiting sequences round-robin by client. */
    readonly client = "",
  ) {
    this.sampler = new Sampler(job.sampling, job.promptIds);
    this.detokenizer = new IncrementalDetokenizer(
      (ids) => tokenizer.decode(ids, true),
      job.promptIds,
    );
    this.stopping = new StoppingCriteria(job.stopping);
  }

  /**
   * What its prefill feeds: the prompt, or after a preemption the prompt and every
   * sampled token (the last one included), whose last logits row is exactly what the
   * next decode step would have produced: the resumed sequence goes on as if never paused.
   */
  prefillIds(): readonly number[] {
    return this.sampled.length === 0
      ? this.job.promptIds
      : [...this.job.promptIds, ...this.sampled];
  }

  /** Samples from `row`, decides about stopping, and describes the outcome. */
  step(row: Float32Array): SequenceEvent {
    const sampled = this.sampler.sample(row);
    const tokenId = sampled.tokenId;
    this.lastToken = tokenId;
    this.sampled.push(tokenId);
    const stopping = this.stopping;
    const delta = stopping.isStopToken(tokenId) ? "" : this.detokenizer.push(tokenId);
    const decision = stopping.accept(tokenId, delta, () => this.detokenizer.flush());
    if (decision.finishReason !== undefined) this.finished = true;
    const event: { -readonly [K in keyof SequenceEvent]: SequenceEvent[K] } = {
      id: this.id,
      text: decision.text,
      tokenIds: decision.emitToken ? [tokenId] : [],
    };
    if (decision.finishReason !== undefined) event.finishReason = decision.finishReason;
    if (decision.emitToken && sampled.top !== undefined) {
      event.logprobs = [this.describe(tokenId, sampled.logprob, sampled.top)];
    }
    return event;
  }

  private describe(
    tokenId: number,
    logprob: number,
    top: readonly { tokenId: number; logprob: number }[],
  ): TokenLogprobs {
    const info = (id: number, lp: number) => ({
      tokenId: id,
      token: this.tokenizer.idToToken(id),
      logprob: lp,
    });
    return { chosen: info(tokenId, logprob), top: top.map((t) => info(t.tokenId, t.logprob)) };
  }
}
