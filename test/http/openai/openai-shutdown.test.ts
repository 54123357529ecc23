import http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { FIXTURE_REPO } from "../../helpers/fixtures.js";
import {
  type GenerationServer,
  startGenerationServer,
} from "../../helpers/start-generation-server.js";

const COMPLETION = {
  model: "tiny_llama",
  prompt: "Once upon a time",
  max_tokens: 200,
  temperature: 0,
  ignore_eos: true,
  stream: true,
};

/** A streamed completion (200 tokens) read over fetch, still running when shutdown starts. */
async function openStream(baseUrl: string) {
  const response = await fetch(`${baseUrl}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(COMPLETION),
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

/**
 * The same completion over HTTP/2 with a stream window of 0: the server cannot send a
 * byte until `release`, so its handler blocks on backpressure and stays in flight for
 * as long as the test needs, whatever the machine's speed (with logprobs the events
 * outgrow the response's 16 KiB buffer). A stream left to run finishes in ~100 ms and
 * once raced the drain: the drain ended, the port closed, and the next fetch was reset.
 */
async function openHeldStream(baseUrl: string) {
  const session = http2.connect(baseUrl, { settings: { initialWindowSize: 0 } });
  const stream = session.request({
    ":method": "POST",
    ":path": "/v1/completions",
    "content-type": "application/json",
  });
  stream.end(JSON.stringify({ ...COMPLETION, logprobs: 5 }));
  const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
    stream.once("response", resolve).once("error", reject);
  });
  expect(headers[":status"]).toBe(200);
  let text = "";
  stream.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
  const ended = new Promise<string>((resolve, reject) => {
    stream.once("end", () => resolve(text)).once("error", reject);
  });
  return {
    /** Opens the window (RFC 9113 §6.9.2: a new initial size applies to open streams). */
    release() {
      session.settings({ initialWindowSize: 65_535 });
      return ended.finally(() => session.close());
    },
  };
}

const events = (text: string) =>
  text
    .split("\n\n")
    .filter((e) => e.startsWith("data: "))
    .map((e) => e.slice("data: ".length));

describe("OpenAI streams and graceful shutdown", () => {
  let server: GenerationServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("a stream running when shutdown starts finishes within the grace period; new requests get 503", async () => {
    server = await startGenerationServer(FIXTURE_REPO, { gracePeriodMs: 30_000 });
    const { baseUrl, app } = server;
    const stream = await openHeldStream(baseUrl);
    let stoppedYet = false;
    const stopped = app.shutdown().then(() => (stoppedYet = true));
    const refused = await fetch(`${baseUrl}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny_llama", prompt: "x", max_tokens: 2 }),
    });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { type: string } }).error.type).toBe("server_error");
    // The drain waits for the held stream: the port still answers, not ready, and
    // shutdown has not finished.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await fetch(`${baseUrl}/readyz`)).status).toBe(503);
    expect(stoppedYet).toBe(false);
    const all = events(await stream.release());
    expect(all.at(-1)).toBe("[DONE]");
    const last = JSON.parse(all.at(-2) ?? "{}") as { choices: { finish_reason: string }[] };
    expect(last.choices[0]?.finish_reason).toBe("length");
    await stopped;
  });

  it("a stream still running when the grace period ends gets an error event, not [DONE]", async () => {
    server = await startGenerationServer(FIXTURE_REPO, { gracePeriodMs: 0 });
    const stream = await openStream(server.baseUrl);
    await server.app.shutdown();
    const all = events(await stream.rest);
    expect(all).not.toContain("[DONE]");
    const error = JSON.parse(all.at(-1) ?? "{}") as { error?: { message: string; type: string } };
    expect(error.error?.type).toBe("server_error");
    expect(error.error?.message).toMatch(/grace period/);
  });
});
