import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTinyLlamaWeights } from "../../../scripts/fixtures/tiny-llama-weights.js";
import { referenceLogits } from "../../fixtures/tiny-llama-reference.js";
import { FIXTURE_REPO } from "../../helpers/fixtures.js";
import {
  type GenerationServer,
  startGenerationServer,
} from "../../helpers/start-generation-server.js";

const MAX_BODY = 8 * 1024;

/** Greedy continuation by the independent float64 forward pass of the fixture's weights. */
function referenceGreedy(prompt: readonly number[], count: number): number[] {
  const weights = createTinyLlamaWeights(342);
  const ids = [...prompt];
  for (let i = 0; i < count; i++) {
    const last = referenceLogits(weights, ids).at(-1) ?? [];
    ids.push(last.indexOf(Math.max(...last)));
  }
  return ids.slice(prompt.length);
}

async function errorOf(promise: Promise<unknown>): Promise<APIError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof APIError) return error;
    throw error;
  }
  throw new Error("expected an API error");
}

describe("OpenAI-compatible routes on the production server (fixture repo, official SDK)", () => {
  let server: GenerationServer;
  let client: OpenAI;
  let startedAt = 0;
  beforeAll(async () => {
    startedAt = Date.now();
    server = await startGenerationServer(FIXTURE_REPO, { maxRequestBytes: MAX_BODY });
    client = new OpenAI({ baseURL: `${server.baseUrl}/v1`, apiKey: "unused", maxRetries: 0 });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  const messages = [
    { role: "system" as const, content: "be brief" },
    { role: "user" as const, content: "hello there" },
  ];

  it("streams a chat completion with usage, equal to the non-streaming answer and to Generate", async () => {
    const request = { model: "tiny_llama", messages, temperature: 0, max_tokens: 12 };
    const stream = await client.chat.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = "";
    const roles: string[] = [];
    const finishes: (string | null)[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.role) roles.push(choice.delta.role);
      content += choice?.delta.content ?? "";
      if (choice) finishes.push(choice.finish_reason);
      if (chunk.usage) usage = chunk.usage;
      expect(chunk.object).toBe("chat.completion.chunk");
    }
    expect(roles).toEqual(["assistant"]);
    expect(finishes.filter((f) => f !== null)).toHaveLength(1);
    const grpc: number[] = [];
    let grpcText = "";
    for await (const m of server.generation.generate({ ...request, maxTokens: 12 })) {
      grpc.push(...m.tokenIds);
      grpcText += m.text;
    }
    expect(content).toBe(grpcText);
    const rendered = "<s>system: be brief\nuser: hello there\nassistant:";
    const promptIds = await server.generation.tokenize({
      model: "tiny_llama",
      text: rendered,
      addSpecialTokens: false,
    });
    expect(usage).toEqual({
      prompt_tokens: promptIds.tokenIds.length,
      completion_tokens: grpc.length,
      total_tokens: promptIds.tokenIds.length + grpc.length,
    });
    const whole = await client.chat.completions.create(request);
    expect(whole.object).toBe("chat.completion");
    expect(whole.choices[0]?.message).toMatchObject({ role: "assistant", content });
    expect(whole.choices[0]?.finish_reason).toBe(finishes.find((f) => f !== null));
    expect(whole.usage).toEqual(usage);
  });

  it("answers a non-streaming completion with the reference greedy tokens and length", async () => {
    const prompt = [1, 300, 17, 42];
    const result = await client.completions.create({
      model: "tiny_llama",
      prompt,
      temperature: 0,
      max_tokens: 5,
      // vLLM-style extension, passed through the SDK as an extra body field.
      ...({ ignore_eos: true } as object),
    });
    const expected = await server.generation.detokenize({
      model: "tiny_llama",
      tokenIds: referenceGreedy(prompt, 5),
    });
    expect(result.object).toBe("text_completion");
    expect(result.choices[0]?.text).toBe(expected.text);
    expect(result.choices[0]?.finish_reason).toBe("length");
    expect(result.usage).toEqual({ prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 });
  });

  it("applies logit_bias: +100 forces a token, a bad id or value is a 400 naming logit_bias", async () => {
    const forced = await client.completions.create({
      model: "tiny_llama",
      prompt: [1, 300, 17, 42],
      temperature: 0,
      max_tokens: 4,
      logit_bias: { "77": 100 },
      ...({ ignore_eos: true } as object),
    });
    const text77 = await server.generation.detokenize({
      model: "tiny_llama",
      tokenIds: [77, 77, 77, 77],
    });
    expect(forced.choices[0]?.text).toBe(text77.text);
    const base = { model: "tiny_llama", messages, max_tokens: 2 };
    for (const logit_bias of [{ "9999": 1 }, { "5": 101 }, { five: 1 }]) {
      const error = await errorOf(client.chat.completions.create({ ...base, logit_bias }));
      expect(error.status).toBe(400);
      expect(error.error).toMatchObject({ param: "logit_bias", type: "invalid_request_error" });
    }
  });

  it("returns logprobs: the chosen token's and the top n, largest first", async () => {
    const result = await client.completions.create({
      model: "tiny_llama",
      prompt: "hi",
      temperature: 0,
      max_tokens: 3,
      logprobs: 2,
    });
    const lp = result.choices[0]?.logprobs;
    expect(lp?.token_logprobs).toHaveLength(3);
    for (const [i, top] of (lp?.top_logprobs ?? []).entries()) {
      const values = Object.values(top);
      expect(values.length).toBeGreaterThanOrEqual(1);
      expect(values.length).toBeLessThanOrEqual(2);
      // Greedy: the chosen token is the most likely one.
      expect(lp?.token_logprobs?.[i]).toBeCloseTo(Math.max(...values), 5);
    }
  });

  it("lists the generative models only, and retrieves one by id", async () => {
    const page = await client.models.list();
    expect(page.data.map((m) => m.id)).toEqual(["tiny_llama"]);
    expect(page.data[0]).toMatchObject({ object: "model", owned_by: "inferd" });
    expect(await client.models.retrieve("tiny_llama")).toMatchObject({
      id: "tiny_llama",
      object: "model",
    });
    // A model with no ready version is not served, so not listed.
    await server.app.registry.unload("tiny_llama");
    try {
      expect((await client.models.list()).data).toEqual([]);
      expect((await errorOf(client.models.retrieve("tiny_llama"))).status).toBe(404);
    } finally {
      await server.app.registry.load("tiny_llama");
    }
    const predict = await errorOf(client.models.retrieve("iris"));
    expect(predict.status).toBe(404);
    expect(predict.error).toMatchObject({ code: "model_not_found", param: "model" });
    const malformed = await fetch(`${server.baseUrl}/v1/models/%E0%A4%A`);
    expect(malformed.status).toBe(404);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe(
      "model_not_found",
    );
    const unknown = await fetch(`${server.baseUrl}/v1/embeddings`, { method: "POST", body: "{}" });
    expect(unknown.status).toBe(404);
    const body = (await unknown.json()) as { error: { message: string; type: string } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toContain("unknown endpoint /v1/embeddings");
  });

  it("answers errors with OpenAI's body and status", async () => {
    const unknown = await errorOf(
      client.completions.create({ model: "nope", prompt: "hi", max_tokens: 2 }),
    );
    expect(unknown.status).toBe(404);
    expect(unknown.error).toMatchObject({ type: "invalid_request_error", code: "model_not_found" });
    expect(unknown.message).toContain("nope");
    const bad = await errorOf(
      client.completions.create({ model: "tiny_llama", prompt: "hi", temperature: -1 }),
    );
    expect(bad.status).toBe(400);
    expect(bad.error).toMatchObject({ param: "temperature", type: "invalid_request_error" });
    expect(bad.message).toContain("must be >= 0");
    const tooMany = await errorOf(
      client.completions.create({ model: "tiny_llama", prompt: "hi", max_tokens: 10_000 }),
    );
    expect(tooMany.status).toBe(400);
    expect(tooMany.message).toContain("context window 256");
    const predict = await errorOf(client.chat.completions.create({ model: "iris", messages }));
    expect(predict.status).toBe(400);
    const shape = await errorOf(
      client.chat.completions.create({ model: "tiny_llama", messages: [] }),
    );
    expect(shape.status).toBe(400);
    expect(shape.error).toMatchObject({ param: "messages" });
    const bad400 = async (request: Promise<unknown>, param: string, message: string) => {
      const error = await errorOf(request);
      expect(error.status).toBe(400);
      expect(error.error).toMatchObject({ param });
      expect(error.message).toContain(message);
    };
    await bad400(
      client.completions.create({ model: "tiny_llama", prompt: "hi", max_tokens: -1 }),
      "max_tokens",
      ">= 1",
    );
    await bad400(
      client.chat.completions.create({ model: "tiny_llama", messages, top_logprobs: 2 }),
      "top_logprobs",
      "needs logprobs: true",
    );
    await bad400(
      client.chat.completions.create({
        model: "tiny_llama",
        messages,
        stream_options: { include_usage: true },
      }),
      "stream_options",
      "needs stream: true",
    );
    const stops = await errorOf(
      client.completions.create({
        model: "tiny_llama",
        prompt: "hi",
        stop: Array.from({ length: 17 }, (_, i) => `s${i}`),
      }),
    );
    expect(stops.status).toBe(400);
    expect(stops.error).toMatchObject({ param: "stop" });
    expect(stops.message).toContain("more than the limit of 16");
    for (const [extra, param] of [
      [{ tool_choice: "required" }, "tool_choice"],
      [{ function_call: "auto" }, "function_call"],
      [{ guided_json: { type: "object" } }, "guided_json"],
    ] as const) {
      const refused = await errorOf(
        client.chat.completions.create({ model: "tiny_llama", messages, ...(extra as object) }),
      );
      expect(refused.status).toBe(400);
      expect(refused.error).toMatchObject({ param });
    }
    const json = await errorOf(
      client.chat.completions.create({
        model: "tiny_llama",
        messages,
        response_format: { type: "json_object" },
      }),
    );
    expect(json.status).toBe(400);
    expect(json.error).toMatchObject({ param: "response_format.type" });
    expect(json.message).toContain("no JSON mode");
    const text = await client.chat.completions.create({
      model: "tiny_llama",
      messages,
      max_tokens: 1,
      response_format: { type: "text" },
    });
    expect(text.usage?.completion_tokens).toBe(1);
  });

  it("refuses bad JSON (400), wrong methods (405) and bodies over --max-request-bytes (413)", async () => {
    const post = (path: string, body: string) =>
      fetch(`${server.baseUrl}${path}`, { method: "POST", body });
    const badJson = await post("/v1/completions", "{nope");
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { error: { type: string } }).error.type).toBe(
      "invalid_request_error",
    );
    const wrong = await fetch(`${server.baseUrl}/v1/completions`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
    await wrong.arrayBuffer();
    const big = await post(
      "/v1/completions",
      JSON.stringify({ model: "tiny_llama", prompt: "x".repeat(MAX_BODY) }),
    );
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe(
      "request_too_large",
    );
  });

  const postJson = (path: string, body: unknown) =>
    fetch(`${server.baseUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  type ErrorJson = { error: { message: string; type: string; param: string | null } };

  it("refuses a body that is not UTF-8 with 400, naming the byte", async () => {
    const bad = Buffer.from([0xff, 0xfe]);
    const chatHead =
      '{"model":"tiny_llama","max_tokens":1,"messages":[{"role":"user","content":"hi';
    const chat = Buffer.concat([Buffer.from(chatHead), bad, Buffer.from('"}]}')]);
    const model = Buffer.concat([
      Buffer.from('{"model":"ir'),
      bad,
      Buffer.from('is","prompt":"x"}'),
    ]);
    for (const [path, body, offset] of [
      ["/v1/chat/completions", chat, chatHead.length],
      ["/v1/completions", model, 12],
    ] as const) {
      const res = await fetch(`${server.baseUrl}${path}`, { method: "POST", body });
      expect(res.status).toBe(400);
      expect(((await res.json()) as ErrorJson).error).toEqual({
        message: `the request body is not valid UTF-8: byte 0xff at offset ${offset}; send text encoded as UTF-8`,
        type: "invalid_request_error",
        param: null,
        code: "invalid_value",
      });
    }
  });

  it("refuses an unknown role, a missing user content and temperature above 2, naming the field", async () => {
    const chat = (messages: unknown[], extra: object = {}) =>
      postJson("/v1/chat/completions", { model: "tiny_llama", max_tokens: 1, messages, ...extra });
    const expect400 = async (res: Response, param: string, message: string) => {
      expect(res.status).toBe(400);
      expect(((await res.json()) as ErrorJson).error).toEqual({
        message: `${param}: ${message}`,
        type: "invalid_request_error",
        param,
        code: "invalid_value",
      });
    };
    await expect400(
      await chat([{ role: "robot", content: "hi" }]),
      "messages[0].role",
      "Invalid value: 'robot'. Supported values are: 'system', 'developer', 'user', 'assistant'.",
    );
    await expect400(
      await chat([
        { role: "system", content: "x" },
        { role: "user", content: null },
      ]),
      "messages[1].content",
      "expected a string or an array of text parts, got null (only an assistant message may omit its content)",
    );
    await expect400(
      await chat([{ role: "user" }]),
      "messages[0].content",
      "expected a string or an array of text parts, got nothing (only an assistant message may omit its content)",
    );
    await expect400(
      await chat([{ role: "user", content: "hi" }], { temperature: 2.5 }),
      "temperature",
      "2.5 is greater than the maximum of 2",
    );
    // OpenAI's bounds themselves pass, and an assistant turn may have no content.
    const ok = await chat(
      [
        { role: "developer", content: "be brief" },
        { role: "user", content: "hi" },
        { role: "assistant", content: null },
        { role: "user", content: [{ type: "text", text: "again" }] },
      ],
      { temperature: 2 },
    );
    expect(ok.status).toBe(200);
    expect(
      ((await ok.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens,
    ).toBe(1);
  });

  it("generates until the context is full without max_tokens on chat, 16 tokens on completions", async () => {
    const common = { model: "tiny_llama", temperature: 0, ignore_eos: true };
    type Usage = { usage: { prompt_tokens: number; completion_tokens: number } };
    const chat = await postJson("/v1/chat/completions", {
      ...common,
      messages: [{ role: "user", content: "hi" }],
    });
    const chatUsage = ((await chat.json()) as Usage).usage;
    expect(chatUsage.prompt_tokens + chatUsage.completion_tokens).toBe(256);
    const completion = await postJson("/v1/completions", { ...common, prompt: "hi" });
    expect(((await completion.json()) as Usage).usage.completion_tokens).toBe(16);
  });

  it("reports when the model was loaded as its created time", async () => {
    const page = await client.models.list();
    const created = page.data[0]?.created ?? 0;
    expect(created).toBeGreaterThanOrEqual(Math.floor(startedAt / 1000));
    expect(created).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect((await client.models.retrieve("tiny_llama")).created).toBe(created);
  });

  it("streams raw server-sent events ending with data: [DONE]", async () => {
    const response = await fetch(`${server.baseUrl}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "tiny_llama",
        prompt: "hi",
        max_tokens: 4,
        temperature: 0,
        ignore_eos: true,
        stream: true,
      }),
    });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const events = (await response.text()).split("\n\n").filter((e) => e !== "");
    expect(events.every((e) => e.startsWith("data: "))).toBe(true);
    expect(events.at(-1)).toBe("data: [DONE]");
    const objects = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
    expect(objects.at(-1).choices[0].finish_reason).toBe("length");
    expect(objects.every((o) => o.usage === null)).toBe(true);
  });
});
