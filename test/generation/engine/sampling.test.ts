import { describe, expect, it } from "vitest";
import { isInferdError } from "../../../src/errors/inferd-error.js";
import {
  applyMinP,
  applyPresenceFrequencyPenalty,
  applyRepetitionPenalty,
  applyTopK,
  applyTopP,
  argmax,
  argmaxFloat32,
  logSoftmax,
} from "../../../src/generation/engine/logits-processors.js";
import { Sampler } from "../../../src/generation/engine/sampler.js";
import { createSeededRandom } from "../../../src/generation/engine/seeded-random.js";
import {
  resolveSamplingParams,
  type SamplingParams,
} from "../../../src/generation/request/sampling-params.js";

const NEG = Number.NEGATIVE_INFINITY;

describe("logits processors", () => {
  it("repetition penalty divides positive and multiplies negative seen logits (HF)", () => {
    const logits = Float64Array.from([2, -2, 4]);
    applyRepetitionPenalty(logits, [0, 1], 2);
    expect([...logits]).toEqual([1, -4, 4]);
  });

  it("presence/frequency penalties subtract count*frequency + presence (OpenAI)", () => {
    const logits = Float64Array.from([1, 1, 1]);
    applyPresenceFrequencyPenalty(
      logits,
      new Map([
        [0, 3],
        [2, 1],
      ]),
      0.5,
      0.25,
    );
    expect([...logits]).toEqual([1 - 0.75 - 0.5, 1, 1 - 0.25 - 0.5]);
  });

  it("top_k keeps the k largest", () => {
    const logits = Float64Array.from([1, 5, 3, 4]);
    applyTopK(logits, 2);
    expect([...logits]).toEqual([NEG, 5, NEG, 4]);
  });

  it("top_p keeps the smallest prefix whose mass reaches p", () => {
    // probabilities 0.5, 0.3, 0.2
    const logits = Float64Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);
    applyTopP(logits, 0.7);
    expect(logits[2]).toBe(NEG);
    expect(logits[1]).toBeCloseTo(Math.log(0.3), 12);
  });

  it("min_p drops tokens below min_p times the top probability", () => {
    const logits = Float64Array.from([Math.log(0.6), Math.log(0.3), Math.log(0.1)]);
    applyMinP(logits, 0.4); // threshold 0.24
    expect([logits[1] !== NEG, logits[2]]).toEqual([true, NEG]);
  });

  it("log-softmax matches the direct formula", () => {
    const lp = logSoftmax(Float64Array.from([1, 2, 3]));
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    expect(lp[0]).toBeCloseTo(1 - Math.log(z), 12);
    expect(lp[2]).toBeCloseTo(3 - Math.log(z), 12);
  });
});

describe("argmaxFloat32", () => {
  it("picks what the one-loop argmax picks: first of the largest, NaN skipped, 0 when none", () => {
    const cases: number[][] = [
      [],
      [NEG, NEG, NEG, NEG, NEG],
      [Number.NaN, 3, Number.NaN, 3, 1],
      [1, 5, 2, 5, 5, 0, 5, 5, 5],
      // The largest in lanes 3, 2 and 1 of later groups, and once more in the tail.
      [0, 0, 0, 7, 0, 0, 7, 0, 0, 7, 0, 0, 7],
      [-0, 0, -0, 0, -1],
      [NEG, NEG, NEG, NEG, NEG, NEG, -1e30],
    ];
    const random = createSeededRandom(7);
    for (let n = 1; n <= 40; n++) {
      // Few distinct values, so ties across lanes are common.
      cases.push(Array.from({ length: n }, () => Math.floor(random.next() * 4)));
    }
    const found = cases.map((c) => argmaxFloat32(Float32Array.from(c)));
    expect(found).toEqual(cases.map((c) => argmax(c)));
    expect(found.slice(0, 7)).toEqual([0, 0, 1, 1, 3, 0, 6]);
  });
});

describe("Sampler", () => {
  const row = Float32Array.from([0.1, 2, 1.9, -1, 0.5]);
  const draw = (params: SamplingParams, n = 30) => {
    const sampler = new Sampler(resolveSamplingParams(params), []);
    return Array.from({ length: n }, () => sampler.sample(row).tokenId);
  };

  it("is greedy at temperature 0 and reproducible per seed", () => {
    expect(draw({ temperature: 0 }, 1)).toEqual([1]);
    expect(draw({ seed: 5 })).toEqual(draw({ seed: 5 }));
    expect(draw({ seed: 5 })).not.toEqual(draw({ seed: 6 }));
    expect(new Set(draw({ topK: 1, seed: 9 }))).toEqual(new Set([1]));
  });

  it("plain greedy takes the raw row's first maximum; a penalty still moves it", () => {
    const tied = Float32Array.from([0.5, 3, -2, 3, 1]);
    const plain = new Sampler(resolveSamplingParams({ temperature: 0 }), []);
    const first = plain.sample(tied);
    expect([first.tokenId, Number.isNaN(first.logprob), first.top]).toEqual([1, true, undefined]);
    expect(tied[1]).toBe(3); // the row is read, not modified
    // Token 1 is in the prompt: a repetition penalty of 2 halves it, so 3 leads.
    const penalised = new Sampler(
      resolveSamplingParams({ temperature: 0, repetitionPenalty: 2 }),
      [1],
    );
    expect(penalised.sample(tied).tokenId).toBe(3);
    const again = new Sampler(resolveSamplingParams({ temperature: 0, frequencyPenalty: 1 }), []);
    expect([again.sample(tied).tokenId, again.sample(tied).tokenId]).toEqual([1, 3]);
  });

  it("samples by the softmax probabilities", () => {
    const ids = draw({ seed: 1 }, 4000);
    const p = logSoftmax(Float64Array.from(row)).map(Math.exp);
    const freq1 = ids.filter((i) => i === 1).length / ids.length;
    expect(freq1).toBeCloseTo(p[1] ?? 0, 1);
  });

  it("adds logit_bias before choosing, greedy and sampled alike", () => {
    // row's argmax is 1 (2.0); -100 bans it, so greedy takes 2 (1.9).
    expect(draw({ temperature: 0, logitBias: { 1: -100 } }, 1)).toEqual([2]);
    // +100 on token 3 (-1.0) makes it all but certain under sampling.
    expect(new Set(draw({ seed: 4, logitBias: { 3: 100 } }))).toEqual(new Set([3]));
    // logprobs are of the biased distribution: 0.5 + 1.6 = 2.1 now leads.
    const sampler = new Sampler(
      resolveSamplingParams({ temperature: 0, logprobs: 1, logitBias: { 4: 1.6 } }),
      [],
    );
    const out = sampler.sample(row);
    expect(out.tokenId).toBe(4);
    const biased = Float64Array.from([0.1, 2, 1.9, -1, 2.1]);
    expect(out.logprob).toBeCloseTo(logSoftmax(biased)[4] ?? 0, 6);
  });

  it("reports the chosen token's logprob and the top-n", () => {
    const sampler = new Sampler(resolveSamplingParams({ temperature: 0, logprobs: 2 }), []);
    const out = sampler.sample(row);
    const lp = logSoftmax(Float64Array.from(row));
    expect(out.logprob).toBeCloseTo(lp[1] ?? 0, 6);
    expect(out.top?.map((t) => t.tokenId)).toEqual([1, 2]);
  });

  it("xoshiro streams are uniform-ish and seed-determined", () => {
    const a = createSeededRandom(3);
    const values = Array.from({ length: 10000 }, () => a.next());
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    expect(mean).toBeCloseTo(0.5, 1);
    expect(createSeededRandom(3).next()).toBe(values[0]);
  });

  it("keeps 64-bit seeds apart: the high word counts, negative seeds too", () => {
    const first = (seed: number) => {
      const random = createSeededRandom(seed);
      return [random.next(), random.next(), random.next()];
    };
    expect(first(2 ** 32 + 7)).not.toEqual(first(7));
    expect(first(2 ** 40)).not.toEqual(first(0));
    expect(first(2 ** 40)).not.toEqual(first(2 ** 32));
    expect(first(-1)).not.toEqual(first(2 ** 32 - 1));
    expect(first(Number.MAX_SAFE_INTEGER)).toEqual(first(Number.MAX_SAFE_INTEGER));
    expect(createSeededRandom(-5).seed).toBe(-5);
  });

  it("gives a uniform stream for seeds whose high and low words are equal (-1, 2^32 + 1)", () => {
    for (const seed of [-1, 2 ** 32 + 1, 2 * (2 ** 32 + 1)]) {
      const random = createSeededRandom(seed);
      const values = Array.from({ length: 5000 }, () => random.next());
      const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
      expect(mean).toBeCloseTo(0.5, 1);
      expect(new Set(values).size).toBeGreaterThan(4900);
    }
  });
});

describe("resolveSamplingParams", () => {
  it.each([
    [{ temperature: -1 }, "temperature -1 is out of range"],
    [{ topP: 0 }, "top_p 0 is out of range: top_p must be in (0, 1]"],
    [{ minP: -0.1 }, "min_p must be in [0, 1]"],
    [{ repetitionPenalty: 0 }, "repetition_penalty must be > 0"],
    [{ presencePenalty: 2.1 }, "presence_penalty must be in [-2, 2]"],
    [{ frequencyPenalty: Number.NaN }, "frequency_penalty"],
    [{ logprobs: 21 }, "logprobs must be an integer in [0, 20]"],
    [{ seed: 1.5 }, "seed 1.5 is out of range: seed must be an integer"],
    [{ seed: 2 ** 53 }, "seed must be an integer"],
    [
      { logitBias: { 3: 100.5 } },
      "logit_bias[3] 100.5 is out of range: logit_bias[3] must be in [-100, 100]",
    ],
    [{ logitBias: { 3: Number.NaN } }, "logit_bias[3] NaN is out of range"],
    [{ logitBias: { "-1": 5 } }, 'logit_bias key "-1" is not a token id'],
    [{ logitBias: { x: 5 } }, 'logit_bias key "x" is not a token id'],
    [{ logitBias: { "007": 5 } }, 'logit_bias key "007" is not a token id'],
  ] as [SamplingParams, string][])("rejects %o", (params, message) => {
    let error: unknown;
    try {
      resolveSamplingParams(params);
    } catch (e) {
      error = e;
    }
    expect(isInferdError(error) && error.kind).toBe("invalid_argument");
    expect((error as Error).message).toContain(message);
  });

  it("fills defaults", () => {
    expect(resolveSamplingParams({})).toEqual({
      temperature: 1,
      topK: 0,
      topP: 1,
      minP: 0,
      repetitionPenalty: 1,
      presencePenalty: 0,
      frequencyPenalty: 0,
      seed: undefined,
      logprobs: 0,
      logitBias: [],
    });
  });

  it("keeps non-zero logit biases as [id, bias] pairs", () => {
    expect(resolveSamplingParams({ logitBias: { 7: -100, 2: 0, 10: 3.5 } }).logitBias).toEqual([
      [7, -100],
      [10, 3.5],
    ]);
  });
});
