import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DecoderSession,
  openDecoderSession,
} from "../../../src/generation/decoder-load/decoder-session.js";
import type { KvCacheMode } from "../../../src/generation/engine/decoder-signature.js";
import type { DecoderRunner } from "../../../src/generation/engine/decoder-step.js";
import type { SequenceEvent } from "../../../src/generation/engine/generation-protocol.js";
import { kvCacheBytesPerToken } from "../../../src/generation/engine/kv-cache-memory.js";
import { PREFIX_BLOCK_TOKENS, PrefixCache } from "../../../src/generation/engine/prefix-cache.js";
import { GenerationScheduler } from "../../../src/generation/engine/scheduler.js";
import { loadGenerationConfig } from "../../../src/generation/request/generation-config.js";
import type { GenerationJob } from "../../../src/generation/request/generation-request.js";
import {
  loadTextTokenizer,
  type TextTokenizer,
} from "../../../src/generation/request/tokenizer.js";
import type { WorkerGenerativeModel } from "../../../src/generation/worker-generative-model.js";
import type { HostTensor } from "../../../src/tensor/host-tensor.js";
import { collectGeneration } from "../../helpers/collect-generation.js";
import {
  FIXTURE_REPO,
  hasLlmFixture,
  hasSharedStories,
  LLM_FIXTURE_REPO,
  LLM_WIDE,
  SHARED_STORIES,
} from "../../helpers/fixtures.js";
import { greedyJob } from "../../helpers/greedy-job.js";
import { useGenerativeModel } from "../../helpers/use-generative-model.js";

/** The session's runs, each run's input_ids width per row summed: the tokens it fed. */
class CountingRunner implements DecoderRunner {
  fed = 0;
  constructor(private readonly inner: DecoderRunner) {}
  run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
    const [rows = 0, n = 0] = feeds.input_ids?.dims ?? [];
    this.fed += rows * n;
    return this.inner.run(feeds);
  }
}

const job = (promptIds: number[], maxTokens: number) => greedyJob(promptIds, maxTokens, 512);

/**
 * Runs `groups` one after the other, greedy ids per job. A group of several is
 * admitted in one step: a short leader's prefill runs while they are submitted (the
 * first submission starts a step at once, alone). Leaders' outputs are dropped.
 */
async function generate(
  runner: DecoderRunner,
  decoder: DecoderSession,
  tokenizer: TextTokenizer,
  prefixCache: PrefixCache | undefined,
  groups: readonly (readonly GenerationJob[])[],
): Promise<number[][]> {
  const out: number[][] = [];
  const scheduler = new GenerationScheduler({
    runner,
    signature: decoder.signature,
    tokenizer,
    maxConcurrentSequences: 4,
    ...(prefixCache && { prefixCache }),
    emit: (events: SequenceEvent[]) => {
      for (const e of events) out[e.id]?.push(...(e.tokenIds ?? []));
    },
  });
  let id = 0;
  for (const group of groups) {
    if (group.length > 1) scheduler.submit(-1, job([1, 2], 1));
    for (const j of group) {
      out[id] = [];
      scheduler.submit(id++, j);
    }
    await scheduler.idle();
  }
  return out;
}

const shared = (n: number) => Array.from({ length: n }, (_, i) => 3 + ((i * 11) % 200));

function describePrefixReuse(name: string, dir: string, present: boolean): void {
  describe.skipIf(!present)(`prefix reuse on ${name} (skipped when the fixture is absent)`, () => {
    for (const mode of ["append", "concat"] as KvCacheMode[]) {
      describe(`kv_cache ${mode}`, () => {
        let decoder: DecoderSession;
        let tokenizer: TextTokenizer;
        let blockBytes = 0;
        beforeAll(async () => {
          const config = await loadGenerationConfig(dir);
          tokenizer = await loadTextTokenizer(dir);
          const options = { intraOpThreads: 1 };
          decoder = await openDecoderSession(join(dir, "model.onnx"), options, config, mode);
          blockBytes =
            PREFIX_BLOCK_TOKENS * kvCacheBytesPerToken(decoder.signature, decoder.session.inputs);
        }, 120_000);
        afterAll(() => decoder?.session.release());
        const first = job([1, ...shared(39), 7, 8, 9, 10, 11], 12);
        const second = job([1, ...shared(39), 20, 21, 22, 23, 24, 25, 26], 12);

        it("prefills only what follows the cached blocks of a shared 40-token prefix, with the same greedy tokens", async () => {
          expect(decoder.signature.kvCache).toBe(mode);
          const plain = new CountingRunner(decoder.session);
          const reference = await generate(plain, decoder, tokenizer, undefined, [
            [first],
            [second],
          ]);
          const prefix = new PrefixCache(64 * blockBytes, blockBytes);
          const counted = new CountingRunner(decoder.session);
          expect(await generate(counted, decoder, tokenizer, prefix, [[first], [second]])).toEqual(
            reference,
          );
          // 45 + 47 prompt tokens and 11 decode steps each without; the second's first 32 (two blocks) reused.
          expect(plain.fed).toBe(45 + 47 + 2 * 11);
          expect(counted.fed).toBe(45 + (47 - 32) + 2 * 11);
          expect(prefix.stats()).toEqual({
            lookups: 2,
            hits: 1,
            tokensSaved: 32,
            blocks: 2,
            bytes: 2 * blockBytes,
            evictions: 0,
          });
        });

        it("gives the same tokens with a two-block budget (evicting) and for two sharers at once", async () => {
          const other = job([1, ...shared(39).map((t) => t + 1), 5, 6], 12);
          const third = job([1, ...shared(39), 30, 31], 12);
          const groups = [[first, second], [other], [third], [second]];
          const reference = await generate(decoder.session, decoder, tokenizer, undefined, groups);
          const tiny = new PrefixCache(2 * blockBytes, blockBytes);
          expect(await generate(decoder.session, decoder, tokenizer, tiny, groups)).toEqual(
            reference,
          );
          // The sharers at once both miss; other's blocks evict theirs, third's evict other's
          // (and third misses); the last one reuses third's two blocks.
          expect(tiny.stats()).toEqual({
            lookups: 5,
            hits: 1,
            tokensSaved: 32,
            blocks: 2,
            bytes: 2 * blockBytes,
            evictions: 4,
          });
          const roomy = new PrefixCache(64 * blockBytes, blockBytes);
          expect(await generate(decoder.session, decoder, tokenizer, roomy, groups)).toEqual(
            reference,
          );
          expect(roomy.stats()).toMatchObject({ lookups: 5, hits: 2, tokensSaved: 64, blocks: 4 });
        });
      });
    }
  });
}

describePrefixReuse("the tiny_llama fixture", join(FIXTURE_REPO, "tiny_llama/1"), true);
describePrefixReuse(
  "the wide LLM fixture",
  join(LLM_FIXTURE_REPO, LLM_WIDE, "1"),
  hasLlmFixture(LLM_WIDE),
);

describe.skipIf(!hasSharedStories())(
  "prefix reuse through a generation worker on stories260k's golden stories (needs ../shared/models/stories260k, skipped when absent)",
  () => {
    const golden = hasSharedStories()
      ? (JSON.parse(readFileSync(join(SHARED_STORIES, "golden.json"), "utf8")) as {
          cases: { prompt_token_ids: number[]; generated_token_ids: number[] }[];
        })
      : { cases: [] };
    const model = useGenerativeModel(join(SHARED_STORIES, "1"), {
      maxConcurrentSequences: 4,
      maxWaiting: 0,
      prefixCacheBytes: 1 << 20,
    });

    it("continues each golden story as run.c did from 64 then 85 of its tokens, the second reusing the first's 4 blocks", async () => {
      const signal = new AbortController().signal;
      for (const c of golden.cases) {
        const story = [...c.prompt_token_ids, ...c.generated_token_ids];
        for (const cut of [64, 85]) {
          const request = { promptTokenIds: story.slice(0, cut), temperature: 0, maxTokens: 24 };
          const out = await collectGeneration(model().generate(request, signal));
          expect(out.ids).toEqual(story.slice(cut, cut + 24));
        }
      }
      const stats = (model() as WorkerGenerativeModel).prefixCacheStats();
      // Per story: 64 tokens look up 3 blocks (63 before the last), miss, store 4; 85 reuse those 4.
      expect(stats).toMatchObject({
        hits: golden.cases.length,
        tokensSaved: 64 * golden.cases.length,
      });
    });
  },
);
