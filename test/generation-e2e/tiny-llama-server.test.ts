import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FinishReason } from "../../gen/inferd/v1/generation_pb.js";
import { createLogger } from "../../src/logging/logger.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";
import {
  type GenerationServer,
  startGenerationServer,
} from "../helpers/start-generation-server.js";

/** Reads one sample of the Prometheus text at /metrics: the line of `name` with every label given. */
async function metric(baseUrl: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const wanted = labels.split(",");
  const line = text
    .split("\n")
    .find((l) => l.startsWith(name) && wanted.every((label) => l.includes(label)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("the tiny_llama fixture (random weights) through Generate on the production server", () => {
  let server: GenerationServer;
  const logs: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const logger = createLogger({
      level: "info",
      destination: { write: (line: string) => logs.push(JSON.parse(line)) },
    });
    server = await startGenerationServer(FIXTURE_REPO, {}, logger);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it("logs that the model is served with the append-only KV cache", () => {
    const line = logs.find((l) => l.msg === "generation KV cache" && l.model === "tiny_llama");
    expect(line).toMatchObject({ level: 30, version: 1, kv_cache: "append" });
  });

  it("never emits a multi-byte character split across byte-fallback tokens broken", async () => {
    // Seed 1 at temperature 50 samples near-uniformly, so byte tokens form "Θ", "Ǌ" and "ŀ".
    const texts: string[] = [];
    const ids: number[] = [];
    for await (const m of server.generation.generate({
      model: "tiny_llama",
      promptTokenIds: [1],
      temperature: 50,
      seed: 1n,
      maxTokens: 120,
      ignoreEos: true,
    })) {
      ids.push(...m.tokenIds);
      texts.push(m.text);
    }
    const whole = await server.generation.detokenize({ model: "tiny_llama", tokenIds: ids });
    expect(texts.join("")).toBe(whole.text);
    expect(whole.text).toContain("Θ");
    // "Θ" came as two byte-fallback tokens (<0xCE> <0x98>, ids 3 + byte): a real split.
    const theta = [...Buffer.from("Θ", "utf8")].map((byte) => byte + 3).join();
    expect(`,${ids.join()},`).toContain(`,${theta},`);
  });

  it("records generation metrics and logs each stream's end", async () => {
    const tokens = 'kind="completion",model="tiny_llama",version="1"';
    const before = await metric(server.baseUrl, "inferd_generation_tokens_total{", tokens);
    const prompt = 'kind="prompt",model="tiny_llama",version="1"';
    const promptBefore = await metric(server.baseUrl, "inferd_generation_tokens_total{", prompt);
    let last: FinishReason | undefined;
    for await (const m of server.generation.generate({
      model: "tiny_llama",
      promptTokenIds: [1, 7, 8],
      temperature: 0,
      maxTokens: 9,
      ignoreEos: true,
      requestId: "metrics-1",
    })) {
      last = m.finishReason;
    }
    expect(last).toBe(FinishReason.LENGTH);
    expect(await metric(server.baseUrl, "inferd_generation_tokens_total{", tokens)).toBe(
      before + 9,
    );
    expect(await metric(server.baseUrl, "inferd_generation_tokens_total{", prompt)).toBe(
      promptBefore + 3,
    );
    const ttftCount = await metric(
      server.baseUrl,
      "inferd_generation_time_to_first_token_seconds_count",
      'model="tiny_llama"',
    );
    expect(ttftCount).toBeGreaterThanOrEqual(1);
    const running = await metric(server.baseUrl, "inferd_generation_sequences{", 'state="running"');
    expect(running).toBe(0);
    const end = logs.find((l) => l.msg === "generation ended" && l.request_id === "metrics-1");
    expect(end).toMatchObject({
      model: "tiny_llama",
      version: 1,
      finish_reason: "length",
      prompt_tokens: 3,
      completion_tokens: 9,
    });
  });
  it("takes 64-bit and negative seeds over gRPC as /v1 does, and refuses one past 2^53", async () => {
    const sampled = async (seed: bigint) => {
      let text = "";
      const base = { model: "tiny_llama", prompt: "Once upon a time", temperature: 1 };
      for await (const m of server.generation.generate({
        ...base,
        seed,
        maxTokens: 24,
        ignoreEos: true,
      })) {
        text += m.text;
      }
      return text;
    };
    const viaOpenAi = async (seed: number) => {
      const response = await fetch(`${server.baseUrl}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "tiny_llama",
          prompt: "Once upon a time",
          temperature: 1,
          seed,
          max_tokens: 24,
          ignore_eos: true,
        }),
      });
      return ((await response.json()) as { choices: { text: string }[] }).choices[0]?.text;
    };
    // 2^40 + 3 and 3 share their low 32 bits: a uint32 field would have made them one seed.
    const high = await sampled(1_099_511_627_779n);
    expect(high).toBe(await viaOpenAi(1_099_511_627_779));
    expect(high).not.toBe(await sampled(3n));
    expect(await sampled(-5n)).toBe(await viaOpenAi(-5));
    const refused = await sampled(2n ** 53n).catch((error: unknown) => ConnectError.from(error));
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.InvalidArgument);
    expect((refused as ConnectError).rawMessage).toMatch(/^seed 9007199254740992 is out of range/);
  });
});
