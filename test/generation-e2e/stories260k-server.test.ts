import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  FinishReason,
  type GenerateRequestSchema,
  type GenerateResponse,
} from "../../gen/inferd/v1/generation_pb.js";
import { hasSharedStories, SHARED_STORIES } from "../helpers/fixtures.js";
import {
  type GenerationServer,
  startGenerationServer,
} from "../helpers/start-generation-server.js";
import { makeLinkedRepo, removeRepo } from "./make-linked-repo.js";

type Init = MessageInitShape<typeof GenerateRequestSchema>;

interface GoldenCase {
  prompt: string;
  prompt_token_ids: number[];
  generated_token_ids: number[];
  generated_text: string;
  stopped_on_bos: boolean;
}

const VERSION_DIR = join(SHARED_STORIES, "1");
const golden = hasSharedStories()
  ? (JSON.parse(readFileSync(join(SHARED_STORIES, "golden.json"), "utf8")) as {
      steps: number;
      cases: GoldenCase[];
    })
  : { steps: 0, cases: [] };
/** run.c's -n counts positions after BOS: generated = steps - (prompt tokens without BOS). */
const maxTokensOf = (c: GoldenCase) => golden.steps - (c.prompt_token_ids.length - 1);

interface Collected {
  ids: number[];
  text: string;
  last: GenerateResponse;
}

describe.skipIf(!hasSharedStories())(
  "stories260k through the production server (needs ../shared/models/stories260k, skipped when absent)",
  () => {
    let repo: string;
    let server: GenerationServer;
    let openai: OpenAI;
    beforeAll(async () => {
      repo = await makeLinkedRepo([{ name: "stories260k", versions: { 1: VERSION_DIR } }]);
      server = await startGenerationServer(repo);
      openai = new OpenAI({ baseURL: `${server.baseUrl}/v1`, apiKey: "unused", maxRetries: 0 });
    }, 60_000);
    afterAll(async () => {
      await server?.close();
      if (repo) await removeRepo(repo);
    });

    const generate = async (init: Omit<Init, "model">): Promise<Collected> => {
      const ids: number[] = [];
      let text = "";
      let last: GenerateResponse | undefined;
      for await (const m of server.generation.generate({ ...init, model: "stories260k" } as Init)) {
        ids.push(...m.tokenIds);
        text += m.text;
        last = m;
      }
      if (last === undefined) throw new Error("empty stream");
      return { ids, text, last };
    };

    it("reproduces every golden case exactly through Generate over gRPC", async () => {
      expect(golden.cases.length).toBeGreaterThan(0);
      for (const c of golden.cases) {
        const out = await generate({ prompt: c.prompt, temperature: 0, maxTokens: maxTokensOf(c) });
        expect(out.ids).toEqual(c.generated_token_ids);
        expect(out.text).toBe(c.generated_text);
        expect(out.last.finishReason).toBe(
          c.stopped_on_bos ? FinishReason.EOS : FinishReason.LENGTH,
        );
        expect(out.last.usage).toMatchObject({
          promptTokens: c.prompt_token_ids.length,
          completionTokens: c.generated_token_ids.length,
        });
      }
    });

    it("reproduces every golden case exactly through /v1/completions (text, and ids via logprobs tokens)", async () => {
      const tokenizer = JSON.parse(readFileSync(join(VERSION_DIR, "tokenizer.json"), "utf8")) as {
        model: { vocab: Record<string, number> };
      };
      const pieceOf = new Map(Object.entries(tokenizer.model.vocab).map(([p, id]) => [id, p]));
      for (const c of golden.cases) {
        const result = await openai.completions.create({
          model: "stories260k",
          prompt: c.prompt,
          temperature: 0,
          max_tokens: maxTokensOf(c),
          logprobs: 0,
        });
        const choice = result.choices[0];
        expect(choice?.text).toBe(c.generated_text);
        // Token text: "▁" is a space, an ASCII byte-fallback piece ("<0x0A>") its character.
        const expectedPieces = c.generated_token_ids.map((id) => {
          const piece = pieceOf.get(id) ?? "";
          const byte = /^<0x([0-9A-F]{2})>$/.exec(piece)?.[1];
          return byte !== undefined && Number.parseInt(byte, 16) < 0x80
            ? String.fromCharCode(Number.parseInt(byte, 16))
            : piece.replaceAll("▁", " ");
        });
        expect(choice?.logprobs?.tokens).toEqual(expectedPieces);
        expect(choice?.logprobs?.tokens?.join("")).toBe(c.generated_text);
        expect(choice?.finish_reason).toBe(c.stopped_on_bos ? "stop" : "length");
        expect(result.usage?.completion_tokens).toBe(c.generated_token_ids.length);
        expect(result.usage?.prompt_tokens).toBe(c.prompt_token_ids.length);
      }
    });

    it("gives 6 concurrent greedy streams (different prompts and lengths) exactly their solo tokens", async () => {
      const requests: Omit<Init, "model">[] = [
        { prompt: "Once upon a time", maxTokens: 90 },
        { prompt: "The little dog", maxTokens: 30 },
        { prompt: "Lily and Ben went to the park to play with a ball", maxTokens: 55 },
        { prompt: "", maxTokens: 70 },
        { prompt: "Tom had a red car", maxTokens: 12 },
        { prompt: "One day, a big bird", maxTokens: 120 },
      ].map((r) => ({ ...r, temperature: 0, ignoreEos: true }));
      const solo: Collected[] = [];
      for (const r of requests) solo.push(await generate(r));
      const together = await Promise.all(requests.map((r) => generate(r)));
      together.forEach((out, i) => {
        expect(out.ids).toEqual(solo[i]?.ids);
        expect(out.text).toBe(solo[i]?.text);
      });
      expect(solo.map((s) => s.ids.length)).toEqual([90, 30, 55, 70, 12, 120]);
    });

    it("samples reproducibly: same seed same output, different seeds differ, top_k 1 is greedy", async () => {
      const base = { prompt: "Once upon a time", temperature: 1, maxTokens: 40 };
      const a = await generate({ ...base, seed: 42n });
      const b = await generate({ ...base, seed: 42n });
      const c = await generate({ ...base, seed: 43n });
      expect(a.ids).toEqual(b.ids);
      expect(a.ids).not.toEqual(c.ids);
      const greedy = await generate({ ...base, temperature: 0 });
      expect((await generate({ ...base, topK: 1, seed: 7n })).ids).toEqual(greedy.ids);
    });

    it("stops on a stop string spanning tokens without emitting it; max_tokens ends with length", async () => {
      const c = golden.cases[0] as GoldenCase;
      const stop = "re was";
      const out = await generate({ prompt: c.prompt, temperature: 0, stop: [stop] });
      expect(out.last.finishReason).toBe(FinishReason.STOP);
      expect(out.text).toBe(c.generated_text.slice(0, c.generated_text.indexOf(stop)));
      const short = await generate({ prompt: c.prompt, temperature: 0, maxTokens: 7 });
      expect(short.last.finishReason).toBe(FinishReason.LENGTH);
      expect(short.ids).toEqual(c.generated_token_ids.slice(0, 7));
    });
  },
);

it.runIf(!existsSync(join(SHARED_STORIES, "1", "model.onnx")))(
  "notes why the stories260k server tests were skipped",
  () => {
    console.info(`stories260k server tests skipped: ${SHARED_STORIES}/1/model.onnx not found`);
  },
);
