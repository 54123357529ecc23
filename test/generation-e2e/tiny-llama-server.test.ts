import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FinishReason } from "../../gen/inferd/v1/generation_pb.js";
import { createLogger } from "../../src/logging/logger.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";
import { type RunningInferd, startInferd } from "./serve-models.js";

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
  let server: RunningInferd;
  const logs: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const logger = createLogger({
      level: "info",
      destination: { write: (line: string) => logs.push(JSON.parse(line)) },
    });
    server = await startInferd(FIXTURE_REPO, {}, logger);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it("never emits a multi-byte character split across byte-fallback tokens broken", async () => {
    // Seed 1 at temperature 50 samples near-uniformly, so byte tokens form "Θ", "Ǌ" and "ŀ".
    const texts: string[] = [];
    const ids: number[] = [];
    for await (const m of server.generation.generate({
      model: "tiny_llama",
      promptTokenIds: [1],
      temperature: 50,
      seed: 1,
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
});
