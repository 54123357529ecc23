import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { GenerationService } from "../../gen/inferd/v1/generation_pb.js";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { ModelService } from "../../gen/inferd/v1/model_pb.js";
import { createLogger } from "../../src/logging/logger.js";
import { connectErrorOf } from "../helpers/connect-error-of.js";
import { IRIS_SAMPLES, irisInputs } from "../helpers/iris-reference.js";
import { scrapeMetrics } from "../helpers/scrape-metrics.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";
import { waitFor } from "../helpers/wait-for.js";

const hash = (key: string) => createHash("sha256").update(key).digest("hex");
const secret = (name: string) => `s3cret-${name}`;
const key = (name: string, scopes: string[], limits: object = {}) => ({
  name,
  sha256: hash(secret(name)),
  scopes,
  ...limits,
});
const KEYS = [
  key("reader", ["read"]),
  key("app", ["infer", "read"]),
  key("ops", ["admin"]),
  // A rate this slow never refills during the test: the third request is refused.
  key("limited", ["infer"], { requests_per_second: 0.001, burst: 2 }),
  key("tokens", ["infer"], { generated_tokens_per_second: 0.001, generated_tokens_burst: 1 }),
  key("grpc-tokens", ["infer"], { generated_tokens_per_second: 0.001, generated_tokens_burst: 1 }),
];
const predict = { model: "iris", version: 2, inputs: irisInputs(IRIS_SAMPLES) };

let inferd: RunningInferd;
let dir: string;
let keysFile: string;
const lines: Record<string, unknown>[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "inferd-keys-file-"));
  keysFile = join(dir, "keys.json");
  await writeFile(keysFile, JSON.stringify({ keys: KEYS }));
  const logger = createLogger({
    level: "info",
    destination: { write: (line: string) => lines.push(JSON.parse(line)) },
  });
  inferd = await startInferd({
    models: ["iris", "tiny_llama"],
    config: { apiKeysFile: keysFile },
    logger,
  });
}, 60_000);
afterAll(async () => {
  await inferd?.close();
  await rm(dir, { recursive: true, force: true });
});

const bearer =
  (name: string): Interceptor =>
  (next) =>
  (req) => {
    req.header.set("authorization", `Bearer ${secret(name)}`);
    return next(req);
  };
const grpc = (name: string): Transport =>
  createGrpcTransport({ baseUrl: inferd.baseUrl, interceptors: [bearer(name)] });
const connect = (name: string): Transport =>
  createConnectTransport({
    baseUrl: inferd.baseUrl,
    httpVersion: "1.1",
    interceptors: [bearer(name)],
  });

function v1(name: string, path: string, body?: object): Promise<Response> {
  return fetch(`${inferd.baseUrl}/v1/${path}`, {
    method: body ? "POST" : "GET",
    headers: { authorization: `Bearer ${secret(name)}`, "content-type": "application/json" },
    ...(body && { body: JSON.stringify(body) }),
  });
}

describe("--api-keys-file scopes", () => {
  it("answers PermissionDenied on gRPC and Connect to a key without the method's scope", async () => {
    for (const transport of [grpc, connect]) {
      const reader = createClient(ModelService, transport("reader"));
      expect((await reader.listModels({})).models.map((m) => m.name).sort()).toEqual([
        "iris",
        "tiny_llama",
      ]);
      const denied = await connectErrorOf(
        createClient(InferenceService, transport("reader")).predict(predict),
      );
      expect(denied.code).toBe(Code.PermissionDenied);
      expect(denied.rawMessage).toBe('the API key "reader" lacks the scope "infer" (it has: read)');
      expect((await connectErrorOf(reader.unloadModel({ name: "iris" }))).code).toBe(
        Code.PermissionDenied,
      );
      const app = createClient(InferenceService, transport("app"));
      expect((await app.predict(predict)).outputs.label?.int64Data).toHaveLength(
        IRIS_SAMPLES.length,
      );
      const appModels = createClient(ModelService, transport("app"));
      expect((await connectErrorOf(appModels.loadModel({ name: "iris" }))).code).toBe(
        Code.PermissionDenied,
      );
      // admin reaches the handler, which answers for the model.
      const ops = createClient(ModelService, transport("ops"));
      expect((await connectErrorOf(ops.unloadModel({ name: "nope" }))).code).toBe(Code.NotFound);
      const unknown = createClient(ModelService, transport("nobody"));
      expect((await connectErrorOf(unknown.listModels({}))).code).toBe(Code.Unauthenticated);
    }
  });

  it("answers 403 with OpenAI's body on /v1 to a key without infer", async () => {
    const res = await v1("reader", "models");
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      error: {
        message: 'the API key "reader" lacks the scope "infer" (it has: read)',
        type: "invalid_request_error",
        param: null,
        code: "insufficient_permissions",
      },
    });
    expect((await v1("app", "models")).status).toBe(200);
  });

  it("writes the key's name in the access logs, never the key", async () => {
    await createClient(ModelService, connect("app")).listModels({});
    await v1("app", "models");
    await waitFor(() => lines.some((l) => l.msg === "http" && l.key === "app"), 10_000);
    const rpc = lines.filter((l) => l.msg === "rpc");
    expect(
      rpc.some((l) => l.procedure === "/inferd.v1.ModelService/ListModels" && l.key === "app"),
    ).toBe(true);
    expect(rpc.some((l) => l.code === "permission_denied" && l.key === "reader")).toBe(true);
    expect(JSON.stringify(lines)).not.toContain("s3cret");
  });
});

describe("--api-keys-file limits", () => {
  it("refuses requests over requests_per_second: ResourceExhausted with RetryInfo", async () => {
    const before = await scrapeMetrics(inferd.baseUrl);
    const client = createClient(InferenceService, connect("limited"));
    await client.predict(predict);
    await client.predict(predict);
    for (const transport of [connect, grpc]) {
      const refused = await connectErrorOf(
        createClient(InferenceService, transport("limited")).predict(predict),
      );
      expect(refused.code).toBe(Code.ResourceExhausted);
      expect(refused.rawMessage).toMatch(
        /^the API key "limited" is over its requests per second limit; retry in \d+\.\d{3} s$/,
      );
      const [retry] = refused.findDetails(RetryInfoSchema);
      const seconds = Number(retry?.retryDelay?.seconds ?? 0n);
      // The bucket refills at 0.001/s: about 1000 s until the next token.
      expect(seconds).toBeGreaterThan(900);
      expect(seconds).toBeLessThanOrEqual(1000);
    }
    const after = await scrapeMetrics(inferd.baseUrl);
    const labels = { key: "limited", limit: "requests" };
    expect(
      after.total("inferd_rate_limited_total", labels) -
        before.total("inferd_rate_limited_total", labels),
    ).toBe(2);
  });

  it("charges generated tokens after a completion, then answers 429 with Retry-After on /v1", async () => {
    const body = { model: "tiny_llama", prompt: "hi", max_tokens: 3, ignore_eos: true };
    const first = await v1("tokens", "completions", body);
    expect(first.status).toBe(200);
    expect(
      ((await first.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens,
    ).toBe(3);
    // 1 - 3 = -2 tokens at 0.001/s: 3000 s until one token is there again.
    await waitFor(() => lines.some((l) => l.msg === "generation ended"), 10_000);
    const refused = await v1("tokens", "completions", body);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(2900);
    expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(3000);
    expect(await refused.json()).toMatchObject({
      error: { type: "tokens", code: "rate_limit_exceeded", param: null },
    });
    const metrics = await scrapeMetrics(inferd.baseUrl);
    expect(
      metrics.total("inferd_rate_limited_total", { key: "tokens", limit: "generated_tokens" }),
    ).toBe(1);
  });
  it("charges the tokens of a gRPC Generate stream to its key", async () => {
    const generation = createClient(GenerationService, grpc("grpc-tokens"));
    const request = { model: "tiny_llama", prompt: "hi", maxTokens: 3, ignoreEos: true };
    let completion = 0;
    for await (const res of generation.generate(request)) completion += res.tokenIds.length;
    expect(completion).toBe(3);
    await waitFor(() => lines.filter((l) => l.msg === "generation ended").length >= 2, 10_000);
    const refused = await connectErrorOf(generation.tokenize({ model: "tiny_llama", text: "hi" }));
    expect(refused.code).toBe(Code.ResourceExhausted);
    expect(refused.rawMessage).toMatch(
      /"grpc-tokens" is over its generated tokens per second limit/,
    );
    expect(Number(refused.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds)).toBeGreaterThan(
      1900,
    );
  });
});

describe("--api-keys-file reload", () => {
  it("takes a changed file without a restart, and keeps the old keys when it is invalid", async () => {
    const late = createClient(ModelService, connect("late"));
    expect((await connectErrorOf(late.listModels({}))).code).toBe(Code.Unauthenticated);
    await writeFile(keysFile, JSON.stringify({ keys: [...KEYS, key("late", ["read"])] }));
    await waitFor(() => lines.some((l) => l.msg === "API keys file reloaded"), 10_000);
    expect((await late.listModels({})).models.length).toBe(2);
    await writeFile(keysFile, "{ not json");
    await waitFor(
      () => lines.some((l) => l.msg === "API keys file not reloaded; the old keys stay"),
      10_000,
    );
    const error = lines.find((l) => l.msg === "API keys file not reloaded; the old keys stay");
    expect(error?.level).toBe(50);
    expect(String(error?.error)).toContain(keysFile);
    expect((await late.listModels({})).models.length).toBe(2);
  });
});
