import { describe, expect, it } from "vitest";
import type { DecoderSignature } from "../../../src/generation/engine/decoder-signature.js";
import type { DecoderRunner } from "../../../src/generation/engine/decoder-step.js";
import type { SequenceEvent } from "../../../src/generation/engine/generation-protocol.js";
import { GenerationScheduler } from "../../../src/generation/engine/scheduler.js";
import type { TextTokenizer } from "../../../src/generation/request/tokenizer.js";
import type { HostTensor } from "../../../src/tensor/host-tensor.js";
import { greedyJob } from "../../helpers/greedy-job.js";

const VOCAB = 8;
const sig: DecoderSignature = {
  numLayers: 1,
  numKvHeads: 1,
  headDim: 1,
  vocabSize: VOCAB,
  hasPositionIds: false,
  kvCache: "concat",
};

/** A decoder whose greedy next token is (last input id + 1) mod 8; it counts its runs. */
class CountingRunner implements DecoderRunner {
  runs = 0;
  /** Each run's input_ids dims: [rows, new tokens per row]. */
  readonly shapes: number[][] = [];
  async run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
    this.runs++;
    const [rows = 0, n = 0] = feeds.input_ids?.dims ?? [];
    this.shapes.push([rows, n]);
    const total = feeds.attention_mask?.dims[1] ?? 0;
    const ids = feeds.input_ids?.data as BigInt64Array;
    const logits = new Float32Array(rows * n * VOCAB);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++) {
        const next = (Number(ids[r * n + j]) + 1) % VOCAB;
        logits[(r * n + j) * VOCAB + next] = 1;
      }
    }
    const kv = (): HostTensor => ({
      dtype: "float32",
      dims: [rows, 1, total, 1],
      data: new Float32Array(rows * total),
    });
    return {
      logits: { dtype: "float32", dims: [rows, n, VOCAB], data: logits },
      "present.0.key": kv(),
      "present.0.value": kv(),
    };
  }
}

const tokenizer = {
  vocabSize: VOCAB,
  decode: (ids: readonly number[]) => ids.map((id) => String.fromCharCode(97 + id)).join(""),
  idToToken: (id: number) => String.fromCharCode(97 + id),
} as unknown as TextTokenizer;

const job = (promptIds: number[], maxTokens: number) => greedyJob(promptIds, maxTokens, 64);

describe("GenerationScheduler", () => {
  it("emits a newcomer's first token right after its prefill, before the next decode step runs", async () => {
    const runner = new CountingRunner();
    const emitted: { runsSoFar: number; events: SequenceEvent[] }[] = [];
    const scheduler = new GenerationScheduler({
      runner,
      signature: sig,
      tokenizer,
      maxConcurrentSequences: 4,
      emit: (events) => emitted.push({ runsSoFar: runner.runs, events }),
    });
    scheduler.submit(1, job([2, 3], 3));
    await scheduler.idle();
    const tokens = emitted.flatMap(({ runsSoFar, events }) =>
      events.flatMap((e) => (e.tokenIds ?? []).map((id) => ({ id, runsSoFar }))),
    );
    // Prefill is run 1 (first token 4), then one decode step per token (5, 6).
    expect(tokens).toEqual([
      { id: 4, runsSoFar: 1 },
      { id: 5, runsSoFar: 2 },
      { id: 6, runsSoFar: 3 },
    ]);
    expect(emitted.at(-1)?.events.at(-1)?.finishReason).toBe("length");
  });

  it("starts a second client's one sequence within one round, however many the first client queued", async () => {
    const runner = new CountingRunner();
    const startedAt = new Map<number, number>();
    const scheduler = new GenerationScheduler({
      runner,
      signature: sig,
      tokenizer,
      maxConcurrentSequences: 2,
      emit: (events) => {
        for (const e of events) if (e.started) startedAt.set(e.id, runner.runs);
      },
    });
    // Client A queues 40 sequences of 4 tokens before client B's one arrives.
    for (let id = 1; id <= 40; id++) scheduler.submit(id, job([1], 4), "A");
    scheduler.submit(99, job([1], 4), "B");
    await scheduler.idle();
    expect(startedAt.size).toBe(41);
    // In arrival order B would start after 38 of A's sequences; in turns, right after A's second.
    const startOrder = [...startedAt.keys()];
    expect(startOrder.indexOf(99)).toBeLessThanOrEqual(2);
    expect(startedAt.get(99)).toBeLessThan(startedAt.get(5) ?? 0);
  });

  it("pauses a sequence out of the batch and resumes it with the same tokens as an unpaused run", async () => {
    const run = async (pauseAfter: number | undefined) => {
      const runner = new CountingRunner();
      const tokens: number[] = [];
      let paused = false;
      const scheduler: GenerationScheduler = new GenerationScheduler({
        runner,
        signature: sig,
        tokenizer,
        maxConcurrentSequences: 4,
        emit: (events) => {
          for (const e of events) if (e.id === 1) tokens.push(...(e.tokenIds ?? []));
          if (!paused && pauseAfter !== undefined && tokens.length >= pauseAfter) {
            paused = true;
            scheduler.pause(1);
          }
        },
      });
      scheduler.submit(1, job([3], 6), "A");
      scheduler.submit(2, job([0], 6), "B");
      await scheduler.idle();
      return { tokens, stats: scheduler.stats(), scheduler };
    };
    const plain = await run(undefined);
    const held = await run(2);
    // Paused after two tokens: the loop went idle with sequence 1 set aside, KV rows dropped.
    expect(held.tokens).toEqual(plain.tokens.slice(0, 2));
    expect(held.stats).toEqual({ running: 0, waiting: 0, paused: 1 });
    held.scheduler.resume(1);
    await held.scheduler.idle();
    expect(held.tokens).toEqual(plain.tokens);
    expect(plain.tokens).toEqual([4, 5, 6, 7, 0, 1]);
  });

  it("ends a paused sequence at once when it is cancelled", async () => {
    const emitted: SequenceEvent[] = [];
    const scheduler = new GenerationScheduler({
      runner: new CountingRunner(),
      signature: sig,
      tokenizer,
      maxConcurrentSequences: 4,
      emit: (events) => {
        emitted.push(...events);
        if (events.some((e) => e.id === 1 && e.tokenIds?.length)) scheduler.pause(1);
      },
    });
    scheduler.submit(1, job([3], 6), "A");
    await scheduler.idle();
    scheduler.cancel(1);
    expect(emitted.at(-1)).toEqual({ id: 1, finishReason: "cancelled" });
    expect(scheduler.stats()).toEqual({ running: 0, waiting: 0, paused: 0 });
  });

  it("prefills a long prompt in budget-sized chunks while a running stream gets a token every step", async () => {
    const runner = new CountingRunner();
    const tokensAt = new Map<number, number[]>();
    let longStartedAt = -1;
    const scheduler = new GenerationScheduler({
      runner,
      signature: sig,
      tokenizer,
      maxConcurrentSequences: 4,
      maxPrefillTokensPerStep: 3,
      emit: (events) => {
        for (const e of events) {
          if (e.id === 2 && e.started) longStartedAt = runner.runs;
          for (const _ of e.tokenIds ?? [])
            tokensAt.set(e.id, [...(tokensAt.get(e.id) ?? []), runner.runs]);
        }
        // The long prompt arrives once stream 1 is decoding.
        if (longStartedAt < 0 && (tokensAt.get(1)?.length ?? 0) === 2) {
          longStartedAt = 0;
          scheduler.submit(
            2,
            job(
              Array.from({ length: 20 }, (_, i) => i % VOCAB),
              2,
            ),
          );
        }
      },
    });
    scheduler.submit(1, job([1], 30));
    await scheduler.idle();
    const first = tokensAt.get(2)?.[0] ?? 0;
    // 20 prompt tokens at most 3 a step: 7 prefill runs, one decode run after each of the
    // first 6; "started" goes out with the first prefill run, the first token with the 7th.
    expect(first - longStartedAt).toBe(6 + 6);
    const during = (tokensAt.get(1) ?? []).filter((run) => run > longStartedAt && run <= first);
    expect(during).toHaveLength(6);
    // Stream 1 never waits more than one prefill run plus its own decode run for a token.
    const gaps = (tokensAt.get(1) ?? []).map((run, i, all) => run - (all[i - 1] ?? 0));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(2);
    expect(Math.max(...runner.shapes.map(([rows = 0, n = 0]) => rows * n))).toBe(3);
    // Its first token comes from the last prompt token (19 % 8 = 3, plus one).
    expect(tokensAt.get(2)).toHaveLength(2);
  });

  it("without a budget prefills the whole prompt in one run, stalling the running stream", async () => {
    const runner = new CountingRunner();
    const order: string[] = [];
    const scheduler: GenerationScheduler = new GenerationScheduler({
      runner,
      signature: sig,
      tokenizer,
      maxConcurrentSequences: 4,
      maxPrefillTokensPerStep: Number.POSITIVE_INFINITY,
      emit: (events) => {
        for (const e of events) if (e.tokenIds?.length) order.push(`${e.id}@${runner.runs}`);
        if (order.length === 2 && order[1]?.startsWith("1@")) {
          scheduler.submit(
            2,
            job(
              Array.from({ length: 20 }, () => 1),
              1,
            ),
          );
        }
      },
    });
    scheduler.submit(1, job([1], 4));
    await scheduler.idle();
    expect(runner.shapes).toContainEqual([1, 20]);
    expect(order).toEqual(["1@1", "1@2", "2@3", "1@4", "1@5"]);
  });
  it("decodes a long sequence in a run of its own beside short ones, each with the tokens it gets alone", async () => {
    const runner = new CountingRunner();
    const tokens = new Map<number, number[]>();
    const scheduler = new GenerationScheduler({
      runner,
      signature: sig,
      tokenizer,
      maxConcurrentSequences: 4,
      emit: (events) => {
        for (const e of events)
          tokens.set(e.id, [...(tokens.get(e.id) ?? []), ...(e.tokenIds ?? [])]);
      },
    });
    const long = Array.from({ length: 2200 }, (_, i) => i % VOCAB);
    scheduler.submit(1, greedyJob([1], 20, 4096));
    scheduler.submit(2, greedyJob([5], 20, 4096));
    scheduler.submit(3, greedyJob(long, 4, 4096));
    await scheduler.idle();
    expect(tokens.get(1)).toEqual(Array.from({ length: 20 }, (_, i) => (2 + i) % VOCAB));
    expect(tokens.get(2)).toEqual(Array.from({ length: 20 }, (_, i) => (6 + i) % VOCAB));
    // The prompt ends in 2199 % 8 = 7: its tokens are 0, 1, 2, 3.
    expect(tokens.get(3)).toEqual([0, 1, 2, 3]);
    const decodeRuns = runner.shapes.filter(([, n]) => n === 1).map(([rows]) => rows);
    // While all three decode: the two short rows in one run, the long one in another.
    expect(decodeRuns).toContain(2);
    expect(decodeRuns).toContain(1);
    expect(decodeRuns).not.toContain(3);
  });
  it("prefills in chunks of the while-decoding budget only while a sequence decodes", async () => {
    const runner = new CountingRunner();
    const scheduler: GenerationScheduler = new GenerationScheduler({
      runner,
      signature: sig,
      tokenizer,
      maxConcurrentSequences: 4,
      maxPrefillTokensPerStep: 8,
      maxPrefillTokensWhileDecoding: 3,
      emit: (events) => {
        // Once sequence 1 (alone: chunks of 8) has its first token, sequence 2 arrives.
        if (events.some((e) => e.id === 1 && e.tokenIds?.length) && runner.runs === 2) {
          scheduler.submit(2, job([1, 2, 3, 4, 5, 6, 7], 1));
        }
      },
    });
    scheduler.submit(1, job([1, 2, 3, 4, 5, 6, 7, 0, 1, 2], 6));
    await scheduler.idle();
    const prefills = runner.shapes.filter(([, n = 0]) => n > 1);
    // Sequence 1's ten tokens: 8 + 2 with nothing decoding; sequence 2's seven: 3 + 3 + 1.
    expect(prefills).toEqual([
      [1, 8],
      [1, 2],
      [1, 3],
      [1, 3],
    ]);
  });
});
