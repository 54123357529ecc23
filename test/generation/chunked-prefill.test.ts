import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { GenerativeModel } from "../../src/generation/generative-model.js";
import type { GenerationRequest } from "../../src/generation/request/generation-request.js";
import { collectGeneration } from "../helpers/collect-generation.js";
import { hasSharedStories, SHARED_STORIES } from "../helpers/fixtures.js";
import { useGenerativeModel } from "../helpers/use-generative-model.js";

const TINY_DIR = join(import.meta.dirname, "../.output/models/tiny_llama/1");
const STORIES_DIR = join(SHARED_STORIES, "1");
/** A budget that splits every prompt here into many chunks, and one that never splits. */
const CHUNKED = 3;
const WHOLE = 100_000;

const greedy = (promptTokenIds: readonly number[], maxTokens: number): GenerationRequest => ({
  promptTokenIds,
  temperature: 0,
  maxTokens,
  ignoreEos: true,
});

/**
 * Greedy ids of `first` and, started once `first` has its first token (so they are
 * prefilled while it decodes), of each of `later`.
 */
async function staggered(
  model: GenerativeModel,
  first: GenerationRequest,
  later: readonly GenerationRequest[],
): Promise<number[][]> {
  const signal = new AbortController().signal;
  let decoding = (): void => {};
  const firstToken = new Promise<void>((resolve) => {
    decoding = resolve;
  });
  const head = collectGeneration(model.generate(first, signal), decoding);
  await firstToken;
  const rest = later.map((r) => collectGeneration(model.generate(r, signal)));
  return (await Promise.all([head, ...rest])).map((c) => c.ids);
}

describe.skipIf(!existsSync(join(TINY_DIR, "model.onnx")))(
  "chunked prefill on the tiny_llama fixture (needs test/.output/models/tiny_llama from the fixture generator)",
  () => {
    const options = { maxConcurrentSequences: 4, maxWaiting: 0 };
    const models = {
      "append, chunked": useGenerativeModel(TINY_DIR, {
        ...options,
        maxPrefillTokensPerStep: CHUNKED,
      }),
      "append, whole": useGenerativeModel(TINY_DIR, { ...options, maxPrefillTokensPerStep: WHOLE }),
      "concat, chunked": useGenerativeModel(TINY_DIR, {
        ...options,
        kvCache: "concat",
        maxPrefillTokensPerStep: CHUNKED,
      }),
    };
    const ids = (n: number, from: number) =>
      Array.from({ length: n }, (_, i) => 3 + ((from + i * 7) % 300));
    const first = greedy([1, 5, 6], 40);
    const later = [
      greedy([1, ...ids(61, 0)], 12),
      greedy([1, 10], 12),
      greedy([1, ...ids(17, 5)], 12),
    ];

    it("gives the same greedy tokens with a 3-token budget as with whole prompts, streams arriving mid-decode", async () => {
      const whole = await staggered(models["append, whole"](), first, later);
      expect(whole.map((s) => s.length)).toEqual([40, 12, 12, 12]);
      expect(models["append, chunked"]().kvCache).toBe("append");
      expect(await staggered(models["append, chunked"](), first, later)).toEqual(whole);
      expect(models["concat, chunked"]().kvCache).toBe("concat");
      expect(await staggered(models["concat, chunked"](), first, later)).toEqual(whole);
    });
  },
);

interface GoldenCase {
  prompt_token_ids: number[];
  generated_token_ids: number[];
  stopped_on_bos: boolean;
}

describe.skipIf(!hasSharedStories())(
  "chunked prefill on stories260k (needs ../shared/models/stories260k, skipped when absent)",
  () => {
    const golden = hasSharedStories()
      ? (JSON.parse(readFileSync(join(SHARED_STORIES, "golden.json"), "utf8")) as {
          steps: number;
          cases: GoldenCase[];
        })
      : { steps: 0, cases: [] };
    const options = { maxConcurrentSequences: 8, maxWaiting: 0 };
    const chunked = useGenerativeModel(STORIES_DIR, {
      ...options,
      maxPrefillTokensPerStep: CHUNKED,
    });
    const whole = useGenerativeModel(STORIES_DIR, { ...options, maxPrefillTokensPerStep: WHOLE });

    it("reproduces every golden case with a 3-token budget, all at once", async () => {
      expect(golden.cases.length).toBeGreaterThan(0);
      const signal = new AbortController().signal;
      const outs = await Promise.all(
        golden.cases.map((c) => {
          const maxTokens = golden.steps - (c.prompt_token_ids.length - 1);
          const request = { promptTokenIds: c.prompt_token_ids, temperature: 0, maxTokens };
          return collectGeneration(chunked().generate(request, signal));
        }),
      );
      // run.c stops on BOS, which the server reports as EOS without emitting it.
      expect(outs.map((o) => o.ids)).toEqual(golden.cases.map((c) => c.generated_token_ids));
    });

    it("gives the same greedy tokens for a 400-token prompt prefilled 3 tokens a step while streams decode", async () => {
      // Real text: the golden stories' tokens, end to end (twice), cut to 400 (context 512).
      const story = golden.cases.flatMap((c) => c.generated_token_ids.filter((id) => id > 2));
      const long = [1, ...story, ...story].slice(0, 400);
      expect(long).toHaveLength(400);
      const first = greedy([1, 403, 407, 261, 378], 200);
      const later = [greedy(long, 60), greedy([1, 403], 40), greedy(long.slice(0, 50), 40)];
      const reference = await staggered(whole(), first, later);
      expect(reference.map((s) => s.length)).toEqual([200, 60, 40, 40]);
      expect(await staggered(chunked(), first, later)).toEqual(reference);
    });
  },
);
