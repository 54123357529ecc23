import { readFile } from "node:fs/promises";
import { totalmem } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { GenerationService } from "../../gen/inferd/v1/generation_pb.js";
import { ModelService, VersionState } from "../../gen/inferd/v1/model_pb.js";
import { DEFAULT_PREFIX_CACHE_BYTES } from "../../src/registry/model-config.js";
import { FIXTURE_REPO, hasSharedStories, SHARED_STORIES } from "../helpers/fixtures.js";
import { scrapeMetrics } from "../helpers/scrape-metrics.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";
import { makeLinkedRepo, removeRepo } from "./make-linked-repo.js";

const TINY = join(FIXTURE_REPO, "tiny_llama/1");
const STORIES = join(SHARED_STORIES, "1");

/** The weights' bytes by a full decode (float32 and int64 initializers only, as these models have). */
async function decodedWeightBytes(dir: string): Promise<bigint> {
  const { onnx } = onnxProto;
  const graph = onnx.ModelProto.decode(await readFile(join(dir, "model.onnx"))).graph;
  const size: Record<number, number> = {
    [onnx.TensorProto.DataType.FLOAT]: 4,
    [onnx.TensorProto.DataType.INT64]: 8,
  };
  let total = 0;
  for (const t of graph?.initializer ?? []) {
    const count = (t.dims ?? []).reduce<number>((p, d) => p * Number(d), 1);
    total += count * (size[t.dataType ?? 0] ?? Number.NaN);
  }
  return BigInt(total);
}

/** 2 x layers x KV heads x head size x 4 bytes, from config.json. */
async function perTokenOf(dir: string): Promise<{ perToken: bigint; context: bigint }> {
  const c = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
  const perToken = 2 * c.num_hidden_layers * c.num_key_value_heads * c.head_dim * 4;
  return { perToken: BigInt(perToken), context: BigInt(c.max_position_embeddings) };
}

describe("generation memory through GetModel and /metrics on the production server", () => {
  let server: RunningInferd;
  let repo: string;
  const models = () => createClient(ModelService, createGrpcTransport({ baseUrl: server.baseUrl }));
  beforeAll(async () => {
    repo = await makeLinkedRepo([
      {
        name: "tiny",
        versions: { 1: TINY },
        modelJson: { kind: "generate", max_concurrent_sequences: 3 },
      },
      {
        name: "tiny_prefix",
        versions: { 1: TINY },
        // 3 blocks of 16 tokens x 256 bytes per token.
        modelJson: { kind: "generate", prefix_cache_bytes: 3 * 16 * 256 },
      },
      {
        name: "tiny_tight",
        versions: { 1: TINY },
        modelJson: { kind: "generate", max_concurrent_sequences: 2, kv_cache_memory_bytes: 1000 },
      },
      ...(hasSharedStories()
        ? [{ name: "stories", versions: { 1: STORIES }, modelJson: { kind: "generate" } }]
        : []),
    ]);
    server = await startInferd({ repository: repo, waitReady: false });
    await vi.waitFor(
      () => {
        const states = server.app.registry.list().flatMap((m) => m.versions.map((v) => v.state));
        if (states.length === 0 || states.includes("loading")) throw new Error("still loading");
      },
      { timeout: 60_000, interval: 50 },
    );
  }, 90_000);
  afterAll(async () => {
    await server?.close();
    if (repo !== undefined) await removeRepo(repo);
  });

  it("reports weight bytes, bytes per token, the full cache and its default budget", async () => {
    const { model } = await models().getModel({ name: "tiny" });
    const weights = await decodedWeightBytes(TINY);
    const { perToken, context } = await perTokenOf(TINY);
    expect(perToken).toBe(256n);
    expect(model?.versions[0]?.memory).toMatchObject({
      weightBytes: weights,
      kvCacheBytesPerToken: perToken,
      kvCacheUsedBytes: 0n,
      kvCacheReservedBytes: 0n,
      kvCacheMaxBytes: 3n * context * perToken,
      kvCacheBudgetBytes: BigInt(totalmem()) - weights,
      prefixCacheUsedBytes: 0n,
      prefixCacheBudgetBytes: BigInt(DEFAULT_PREFIX_CACHE_BYTES),
    });
  });

  it("reports the prefix cache's bytes in use and its budget beside the KV cache's", async () => {
    const memory = async () =>
      (await models().getModel({ name: "tiny_prefix" })).model?.versions[0]?.memory;
    expect(await memory()).toMatchObject({
      prefixCacheUsedBytes: 0n,
      prefixCacheBudgetBytes: 12288n,
    });
    const generation = createClient(
      GenerationService,
      createGrpcTransport({ baseUrl: server.baseUrl }),
    );
    // 40 prompt tokens: two whole blocks of 16 are cached (16 x 256 bytes each).
    const promptTokenIds = Array.from({ length: 40 }, (_, i) => 3 + i);
    for await (const _ of generation.generate({
      model: "tiny_prefix",
      promptTokenIds,
      maxTokens: 2,
    })) {
    }
    await vi.waitFor(async () => {
      expect(await memory()).toMatchObject({
        prefixCacheUsedBytes: 2n * 16n * 256n,
        prefixCacheBudgetBytes: 12288n,
        kvCacheUsedBytes: 0n,
      });
    });
  });

  it("exports the gauges, back to 0 KV bytes once a generation ended", async () => {
    const generation = createClient(
      GenerationService,
      createGrpcTransport({ baseUrl: server.baseUrl }),
    );
    for await (const _ of generation.generate({
      model: "tiny",
      promptTokenIds: [1, 5, 6],
      maxTokens: 4,
      ignoreEos: true,
    })) {
    }
    const labels = { model: "tiny", version: "1" };
    await vi.waitFor(async () => {
      const scrape = await scrapeMetrics(server.baseUrl);
      expect(scrape.types.get("inferd_generation_kv_cache_bytes")).toBe("gauge");
      expect(scrape.total("inferd_generation_weight_bytes", labels)).toBe(
        Number(await decodedWeightBytes(TINY)),
      );
      expect(scrape.total("inferd_generation_kv_cache_bytes", { ...labels, state: "used" })).toBe(
        0,
      );
      expect(
        scrape.total("inferd_generation_kv_cache_bytes", { ...labels, state: "reserved" }),
      ).toBe(0);
    });
  });

  it("fails a version whose full KV cache is over kv_cache_memory_bytes, naming the numbers", async () => {
    const { model } = await models().getModel({ name: "tiny_tight" });
    const version = model?.versions[0];
    expect(version?.state).toBe(VersionState.FAILED);
    expect(version?.memory).toBeUndefined();
    expect(version?.reason).toBe(
      'model "tiny_tight": a full KV cache takes 131072 bytes (max_concurrent_sequences 2 × context window 256 tokens × 256 bytes per token), more than its budget of 1000 bytes (model.json kv_cache_memory_bytes); lower max_concurrent_sequences in model.json or the context window (config.json max_position_embeddings), or raise kv_cache_memory_bytes',
    );
  });

  it.skipIf(!hasSharedStories())(
    "reports stories260k's memory (skipped: the shared stories260k model is absent)",
    async () => {
      const { model } = await models().getModel({ name: "stories" });
      const { perToken, context } = await perTokenOf(STORIES);
      expect(model?.versions[0]?.memory).toMatchObject({
        weightBytes: await decodedWeightBytes(STORIES),
        kvCacheBytesPerToken: perToken,
        kvCacheMaxBytes: 16n * context * perToken,
      });
    },
  );
});
