import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { VersionMemory } from "../../src/registry/version-memory.js";
import { collectGeneration } from "../helpers/collect-generation.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";
import { useGenerativeModel } from "../helpers/use-generative-model.js";
import { waitFor } from "../helpers/wait-for.js";

const DIR = join(FIXTURE_REPO, "tiny_llama/1");

describe("a generative model's KV-cache memory as its worker reports it (tiny_llama fixture)", () => {
  const seen: VersionMemory[] = [];
  const model = useGenerativeModel(DIR, {
    maxConcurrentSequences: 2,
    maxWaiting: 0,
    observer: {
      onFirstToken: () => {},
      onInterToken: () => {},
      onTokens: () => {},
      onSequences: () => {},
      onMemory: (memory) => seen.push(memory),
    },
  });

  it("grows by one token per step while a sequence runs, then returns to 0", async () => {
    const json = JSON.parse(await readFile(join(DIR, "config.json"), "utf8"));
    const perToken = 2 * json.num_hidden_layers * json.num_key_value_heads * json.head_dim * 4;
    expect(model().memory()).toMatchObject({
      kvCacheBytesPerToken: perToken,
      kvCacheUsedBytes: 0,
      kvCacheReservedBytes: 0,
      kvCacheMaxBytes: 2 * json.max_position_embeddings * perToken,
    });
    seen.length = 0;
    const [prompt, maxTokens] = [[1, 5, 6, 7, 8], 6];
    const { ids } = await collectGeneration(
      model().generate(
        { promptTokenIds: prompt, temperature: 0, maxTokens, ignoreEos: true },
        new AbortController().signal,
      ),
    );
    expect(ids).toHaveLength(maxTokens);
    // The idle report follows the finish: the cache is empty once no sequence runs.
    await waitFor(() => seen.at(-1)?.kvCacheReservedBytes === 0);
    // After the prefill 5 tokens are cached, one more per decode step; the 6th
    // token is sampled, never fed.
    const used = seen.map((m) => m.kvCacheUsedBytes / perToken);
    expect(used).toEqual([5, 6, 7, 8, 9, 10, 0]);
    for (const m of seen) expect(m.kvCacheReservedBytes).toBeGreaterThanOrEqual(m.kvCacheUsedBytes);
    expect(Math.max(...seen.map((m) => m.kvCacheReservedBytes))).toBeGreaterThan(0);
    expect(model().memory().kvCacheUsedBytes).toBe(0);
  });
});
