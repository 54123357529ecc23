import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { GenerationChunk } from "../../src/generation/generation-chunk.js";
import { collectGeneration } from "../helpers/collect-generation.js";
import { useGenerativeModel } from "../helpers/use-generative-model.js";

const MODEL_DIR = join(import.meta.dirname, "../.output/models/tiny_llama/1");

const ids = async (stream: AsyncIterable<GenerationChunk>) => (await collectGeneration(stream)).ids;

describe.skipIf(!existsSync(join(MODEL_DIR, "model.onnx")))(
  "GenerativeModel on the tiny_llama fixture (needs test/.output/models/tiny_llama from the fixture generator)",
  () => {
    const model = useGenerativeModel(MODEL_DIR, { maxConcurrentSequences: 3, maxWaiting: 0 });

    it("reads its signature and batches concurrent greedy streams like solo runs", async () => {
      const prompts = [
        [1, 5, 6, 7, 8, 9],
        [1, 10],
        [1, 11, 12, 13],
      ];
      const request = (p: number[], maxTokens: number) =>
        model().generate(
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
