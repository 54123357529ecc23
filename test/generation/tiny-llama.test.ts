import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GenerationChunk, isGenerationFinish } from "../../src/generation/generation-chunk.js";
import type { GenerativeModel } from "../../src/generation/generative-model.js";
import { loadGenerativeModel } from "../../src/generation/load-generative-model.js";

const MODEL_DIR = join(import.meta.dirname, "../.output/models/tiny_llama/1");

async function ids(stream: AsyncIterable<GenerationChunk>): Promise<number[]> {
  const out: number[] = [];
  for await (const chunk of stream) if (!isGenerationFinish(chunk)) out.push(...chunk.tokenIds);
  return out;
}

describe.skipIf(!existsSync(join(MODEL_DIR, "model.onnx")))(
  "GenerativeModel on the tiny_llama fixture (needs test/.output/models/tiny_llama from the fixture generator)",
  () => {
    let model: GenerativeModel;
    beforeAll(async () => {
      model = await loadGenerativeModel({
        dir: MODEL_DIR,
        modelPath: join(MODEL_DIR, "model.onnx"),
        maxConcurrentSequences: 3,
        maxWaiting: 0,
      });
    });
    afterAll(async () => {
      await model?.dispose();
    });

    it("reads its signature and batches concurrent greedy streams like solo runs", async () => {
      const prompts = [
        [1, 5, 6, 7, 8, 9],
        [1, 10],
        [1, 11, 12, 13],
      ];
      const request = (p: number[], maxTokens: number) =>
        model.generate(
          { promptTokenIds: p, temperature: 0, maxTokens, ignoreEos: true },
          new AbortController().signal,
        );
      const solo: number[][] = [];
      for (const [i, p] of prompts.entries()) solo.push(await ids(request(p, 6 + 4 * i)));
      const together = await Promise.all(prompts.map((p, i) => ids(request(p, 6 + 4 * i))));
      expect(together).toEqual(solo);
      expect(solo.map((s) => s.length)).toEqual([6, 10, 14]);
    });
  },
);
