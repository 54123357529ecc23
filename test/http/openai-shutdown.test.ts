import { afterEach, describe, expect, it } from "vitest";
import { type RunningInferd, startInferd } from "../generation-e2e/serve-models.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";

/** A streamed completion long enough (200 tokens) to still be running when shutdown starts. */
async function openStream(baseUrl: string) {
  const response = await fetch(`${baseUrl}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "tiny_llama",
      prompt: "Once upon a time",
      max_tokens: 200,
      temperature: 0,
      ignore_eos: true,
      stream: true,
    }),
  });
  expect(response.status).toBe(200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value);
  const rest = (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      text += decoder.decode(r.value);
    }
    return text;
  })();
  return { rest };
}

const events = (text: string) =>
  text
    .split("\n\n")
    .filter((e) => e.startsWith("data: "))
    .map((e) => e.slice("data: ".length));

describe("OpenAI streams and graceful shutdown", () => {
  let server: RunningInferd | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("a stream running when shutdown starts finishes within the grace period; new requests get 503", async () => {
    server = await startInferd(FIXTURE_REPO, { gracePeriodMs: 30_000 });
    const { baseUrl, app } = server;
    const stream = await openStream(baseUrl);
    const stopped = app.shutdown();
    const refused = await fetch(`${baseUrl}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny_llama", prompt: "x", max_tokens: 2 }),
    });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { type: string } }).error.type).toBe("server_error");
    const all = events(await stream.rest);
    expect(all.at(-1)).toBe("[DONE]");
    const last = JSON.parse(all.at(-2) ?? "{}") as { choices: { finish_reason: string }[] };
    expect(last.choices[0]?.finish_reason).toBe("length");
    await stopped;
  });

  it("a stream still running when the grace period ends gets an error event, not [DONE]", async () => {
    server = await startInferd(FIXTURE_REPO, { gracePeriodMs: 0 });
    const stream = await openStream(server.baseUrl);
    await server.app.shutdown();
    const all = events(await stream.rest);
    expect(all).not.toContain("[DONE]");
    const error = JSON.parse(all.at(-1) ?? "{}") as { error?: { message: string; type: string } };
    expect(error.error?.type).toBe("server_error");
    expect(error.error?.message).toMatch(/grace period/);
  });
});
