import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isInferdError } from "../../src/errors/inferd-error.js";
import {
  type GenerationChunk,
  type GenerationFinish,
  isGenerationFinish,
} from "../../src/generation/generation-chunk.js";
import type { GenerationRequest } from "../../src/generation/request/generation-request.js";
import { type CollectedGeneration, collectGeneration } from "../helpers/collect-generation.js";
import { useGenerativeModel } from "../helpers/use-generative-model.js";

const MODEL_DIR = join(import.meta.dirname, "../../../shared/models/stories260k/1");
const GOLDEN = join(MODEL_DIR, "../golden.json");

interface GoldenCase {
  prompt: string;
  prompt_token_ids: number[];
  generated_token_ids: number[];
  text: string;
  generated_text: string;
  stopped_on_bos: boolean;
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe.skipIf(!existsSync(GOLDEN)).each(["append", "concat"] as const)(
  "GenerativeModel on stories260k, KV cache %s (needs ../shared/models/stories260k)",
  (kvCache) => {
    const golden = existsSync(GOLDEN)
      ? (JSON.parse(readFileSync(GOLDEN, "utf8")) as { steps: number; cases: GoldenCase[] })
      : { steps: 0, cases: [] };
    const model = useGenerativeModel(MODEL_DIR, {
      maxConcurrentSequences: 4,
      maxWaiting: 4,
      kvCache,
    });
    const run = (request: GenerationRequest, signal = new AbortController().signal) =>
      collectGeneration(model().generate(request, signal));

    /** run.c's -n counts positions after BOS: generated = steps - (prompt tokens without BOS). */
    const maxTokensOf = (c: GoldenCase) => golden.steps - (c.prompt_token_ids.length - 1);

    it("reproduces every golden greedy case exactly (ids and text)", async () => {
      // The export's graph matches the rewrite: "append" is what gets served.
      expect(model().kvCache).toBe(kvCache);
      for (const c of golden.cases) {
        expect(model().tokenize(c.prompt, true)).toEqual(c.prompt_token_ids);
        const out = await run({ prompt: c.prompt, temperature: 0, maxTokens: maxTokensOf(c) });
        expect(out.ids).toEqual(c.generated_token_ids);
        expect(out.text).toBe(c.generated_text);
        expect(model().detokenize([...c.prompt_token_ids, ...out.ids], true)).toBe(c.text);
        expect(out.finish.finishReason).toBe(c.stopped_on_bos ? "eos" : "length");
        expect(out.finish.usage).toEqual({
          promptTokens: c.prompt_token_ids.length,
          completionTokens: c.generated_token_ids.length,
        });
        console.info(
          `stories260k single stream: ${out.finish.timings.tokensPerSecond.toFixed(0)} tokens/s, ` +
            `TTFT ${out.finish.timings.timeToFirstTokenMs.toFixed(1)} ms`,
        );
      }
    });
    it("gives each of 4 concurrent streams (joining mid-run, leaving early) exactly its solo tokens", async () => {
      const requests: GenerationRequest[] = [
        { prompt: "Once upon a time", temperature: 0, maxTokens: 60 },
        { prompt: "The little dog", temperature: 0, maxTokens: 25 },
        {
          prompt: "Lily and Ben went to the park to play with a ball",
          temperature: 0,
          maxTokens: 40,
        },
        { prompt: "", temperature: 0, maxTokens: 50 },
      ];
      const solo: CollectedGeneration[] = [];
      for (const r of requests) solo.push(await run(r));
      // Two start together; the others join once the first has 10 tokens (mid-decode).
      let joined: () => void = () => {};
      const midway = new Promise<void>((resolve) => {
        joined = resolve;
      });
      const signal = new AbortController().signal;
      const first = [
        collectGeneration(
          model().generate(requests[0] as GenerationRequest, signal),
          (n) => n >= 10 && joined(),
        ),
        run(requests[1] as GenerationRequest),
      ];
      await midway;
      const later = requests.slice(2).map((r) => run(r));
      await new Promise((resolve) => setTimeout(resolve, 2));
      const peak = model().stats();
      const together = await Promise.all([...first, ...later]);
      expect(peak.running + peak.waiting).toBe(4);
      together.forEach((out, i) => {
        expect(out.ids).toEqual(solo[i]?.ids);
        expect(out.text).toBe(solo[i]?.text);
        expect(out.finish.finishReason).toBe("length");
      });
      expect(solo.map((s) => s.ids.length)).toEqual([60, 25, 40, 50]);
    });

    it("samples reproducibly: same seed same output, different seeds differ, top_k 1 is greedy", async () => {
      const base: GenerationRequest = { prompt: "Once upon a time", temperature: 1, maxTokens: 40 };
      const a = await run({ ...base, seed: 42 });
      const b = await run({ ...base, seed: 42 });
      const c = await run({ ...base, seed: 43 });
      expect(a.ids).toEqual(b.ids);
      expect(a.ids).not.toEqual(c.ids);
      const greedy = await run({ ...base, temperature: 0 });
      const topK1 = await run({ ...base, topK: 1, seed: 7 });
      expect(topK1.ids).toEqual(greedy.ids);
    });

    it("returns logprobs that are log-softmax values with the chosen token at the top when greedy", async () => {
      const chunks: GenerationChunk[] = [];
      for await (const chunk of model().generate(
        { prompt: "Once upon a time", temperature: 0, maxTokens: 3, logprobs: 3 },
        new AbortController().signal,
      )) {
        chunks.push(chunk);
      }
      const deltas = chunks.filter((c) => !isGenerationFinish(c));
      const lps = deltas.flatMap((d) => ("logprobs" in d ? (d.logprobs ?? []) : []));
      expect(lps).toHaveLength(3);
      for (const lp of lps) {
        expect(lp.top).toHaveLength(3);
        expect(lp.top[0]?.tokenId).toBe(lp.chosen.tokenId);
        expect(lp.chosen.logprob).toBeLessThanOrEqual(0);
        expect(lp.top[1]?.logprob ?? 0).toBeLessThanOrEqual(lp.top[0]?.logprob ?? 0);
      }
      expect(lps[0]?.chosen.tokenId).toBe(golden.cases[0]?.generated_token_ids[0]);
    });

    it("stops on a stop string spanning two tokens and never emits it", async () => {
      const c = golden.cases[0] as GoldenCase;
      const stop = "re was";
      const pieces = c.generated_token_ids.map((id) => model().detokenize([id], true));
      expect(pieces.some((p) => p.includes(stop))).toBe(false); // the string really spans tokens
      const out = await run({ prompt: c.prompt, temperature: 0, stop: [stop] });
      expect(out.finish.finishReason).toBe("stop");
      expect(out.text).toBe(c.generated_text.slice(0, c.generated_text.indexOf(stop)));
      expect(out.text).toBe(", the");
    });

    it("ends with length at max_tokens, with ids matching the golden prefix", async () => {
      const c = golden.cases[1] as GoldenCase;
      const out = await run({ prompt: c.prompt, temperature: 0, maxTokens: 5 });
      expect(out.finish.finishReason).toBe("length");
      expect(out.ids).toEqual(c.generated_token_ids.slice(0, 5));
      expect(out.finish.usage.completionTokens).toBe(5);
    });

    it("accepts prompt token ids and stop token ids", async () => {
      const c = golden.cases[0] as GoldenCase;
      const stopId = c.generated_token_ids[3] as number;
      const out = await run({
        promptTokenIds: c.prompt_token_ids,
        temperature: 0,
        stopTokenIds: [stopId],
      });
      expect(out.finish.finishReason).toBe("stop");
      expect(out.ids).toEqual(
        c.generated_token_ids.slice(0, c.generated_token_ids.indexOf(stopId)),
      );
    });

    it("rejects bad parameters with invalid_argument naming the limit", async () => {
      const bad: [GenerationRequest, string][] = [
        [{ prompt: "a", temperature: -0.5 }, "temperature"],
        [{ prompt: "a", topP: 0 }, "(0, 1]"],
        [{ prompt: "a", topP: 1.5 }, "(0, 1]"],
        [{ prompt: "a", minP: 1.2 }, "[0, 1]"],
        [{ prompt: "a", repetitionPenalty: 0 }, "> 0"],
        [{ prompt: "a", presencePenalty: 2.5 }, "[-2, 2]"],
        [{ prompt: "a", frequencyPenalty: -3 }, "[-2, 2]"],
        [{ prompt: "a", maxTokens: 0 }, "[1, 510]"],
        [{ prompt: "a", maxTokens: 511 }, "[1, 510]"],
        [{ prompt: "a", promptTokenIds: [1, 5] }, "at most one"],
        [{ promptTokenIds: [1, 9999] }, "vocabulary"],
      ];
      for (const [request, text] of bad) {
        const error = await errorOf(run(request));
        expect(isInferdError(error) && error.kind).toBe("invalid_argument");
        expect((error as Error).message).toContain(text);
      }
      const noTemplate = await errorOf(run({ messages: [{ role: "user", content: "hi" }] }));
      expect(isInferdError(noTemplate) && noTemplate.kind).toBe("failed_precondition");
      expect(() => model().renderChat([{ role: "user", content: "hi" }])).toThrow(/chat_template/);
    });
  },
);

const GOLDEN_DOG = existsSync(GOLDEN)
  ? ((JSON.parse(readFileSync(GOLDEN, "utf8")) as { cases: GoldenCase[] }).cases[1]
      ?.generated_token_ids ?? [])
  : [];

describe.skipIf(!existsSync(GOLDEN))(
  "GenerativeModel slots on stories260k (needs ../shared/models/stories260k)",
  () => {
    const model = useGenerativeModel(MODEL_DIR, { maxConcurrentSequences: 1, maxWaiting: 1 });

    it("frees a cancelled sequence's slot at the next step so the waiting one starts; a full queue is resource_exhausted", async () => {
      const controller = new AbortController();
      const long = model()
        .generate(
          { prompt: "Once upon a time", temperature: 0, ignoreEos: true },
          controller.signal,
        )
        [Symbol.asyncIterator]();
      const first = await long.next(); // A is running
      expect(first.done).toBe(false);
      const waiting = collectGeneration(
        model().generate(
          { prompt: "The little dog", temperature: 0, maxTokens: 8 },
          new AbortController().signal,
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(model().stats()).toEqual({ running: 1, waiting: 1 });
      const full = await errorOf(
        collectGeneration(
          model().generate({ prompt: "x", maxTokens: 1 }, new AbortController().signal),
        ),
      );
      expect(isInferdError(full) && full.kind).toBe("resource_exhausted");
      controller.abort();
      let afterAbort = 0;
      let finish: GenerationFinish | undefined;
      for (let r = await long.next(); !r.done; r = await long.next()) {
        if (isGenerationFinish(r.value)) finish = r.value;
        else afterAbort += r.value.tokenIds.length;
      }
      expect(finish?.finishReason).toBe("cancelled");
      expect(afterAbort).toBe(0); // buffered deltas are dropped once the client aborted
      const b = await waiting;
      expect(b.finish.finishReason).toBe("length");
      expect(b.ids).toEqual(GOLDEN_DOG.slice(0, 8));
      expect(model().stats()).toEqual({ running: 0, waiting: 0 });
    });
  },
);
