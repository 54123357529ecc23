import http2 from "node:http2";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { createLogger } from "../../src/logging/logger.js";
import { grpcClient, grpcFailure, grpcPredict } from "../helpers/inferd-grpc.js";
import { IRIS_SAMPLES, irisExpected, irisInputs, maxAbsDiff } from "../helpers/iris-reference.js";
import { scrapeMetrics } from "../helpers/scrape-metrics.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

const KEYS = ["key-one", "key-two"];
const request = { model: "iris", version: 2, inputs: irisInputs(IRIS_SAMPLES) };
const expected = irisExpected(2, IRIS_SAMPLES);

let inferd: RunningInferd;
let grpcjs: grpc.Client;
const lines: Record<string, unknown>[] = [];
beforeAll(async () => {
  const logger = createLogger({
    level: "info",
    destination: { write: (line: string) => lines.push(JSON.parse(line)) },
  });
  inferd = await startInferd({
    models: ["iris", "tiny_llama"],
    config: { apiKey: KEYS },
    logger,
  });
  grpcjs = grpcClient(inferd.port);
}, 60_000);
afterAll(async () => {
  grpcjs?.close();
  await inferd?.close();
});

const bearer =
  (key: string): Interceptor =>
  (next) =>
  (req) => {
    req.header.set("authorization", `Bearer ${key}`);
    return next(req);
  };

function withKey(key: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${key}`);
  return metadata;
}

describe("--api-key", () => {
  it("refuses gRPC calls without a valid key with Unauthenticated, and serves them with one", async () => {
    for (const metadata of [new grpc.Metadata(), withKey("key-three")]) {
      const e = await grpcFailure(grpcPredict(grpcjs, request, {}, metadata));
      expect(e.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(e.details).toContain("Authorization: Bearer <key>");
      expect(e.details).not.toContain("key-one");
    }
    for (const key of KEYS) {
      const res = await grpcPredict(grpcjs, request, {}, withKey(key));
      const probabilities = res.outputs.probabilities?.floatData ?? [];
      expect(maxAbsDiff(probabilities, expected.probabilities)).toBeLessThan(1e-6);
    }
  });

  it("does the same over the Connect protocol (HTTP 401) and gRPC-Web", async () => {
    const connect = createConnectTransport({ baseUrl: inferd.baseUrl, httpVersion: "1.1" });
    const refused = await createClient(InferenceService, connect)
      .predict(request)
      .then(() => undefined, ConnectError.from);
    expect(refused?.code).toBe(Code.Unauthenticated);
    const raw = await fetch(`${inferd.baseUrl}/inferd.v1.InferenceService/Predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "iris" }),
    });
    expect(raw.status).toBe(401);
    expect(((await raw.json()) as { code: string }).code).toBe("unauthenticated");
    for (const transport of [
      createConnectTransport({
        baseUrl: inferd.baseUrl,
        httpVersion: "1.1",
        interceptors: [bearer("key-two")],
      }),
      createGrpcWebTransport({
        baseUrl: inferd.baseUrl,
        httpVersion: "1.1",
        interceptors: [bearer("key-one")],
      }),
    ]) {
      const res = await createClient(InferenceService, transport).predict(request);
      expect(res.outputs.label?.int64Data).toEqual(expected.labels.map(BigInt));
    }
  });

  it("leaves health, /healthz, /readyz and /metrics open, and counts refused calls", async () => {
    const before = await scrapeMetrics(inferd.baseUrl);
    await grpcFailure(grpcPredict(grpcjs, request));
    const after = await scrapeMetrics(inferd.baseUrl);
    const labels = {
      grpc_service: "inferd.v1.InferenceService",
      grpc_method: "Predict",
      grpc_code: "Unauthenticated",
    };
    const handled = "inferd_grpc_server_handled_total";
    expect(after.total(handled, labels) - before.total(handled, labels)).toBe(1);
    for (const path of ["/healthz", "/readyz", "/metrics"]) {
      expect((await fetch(`${inferd.baseUrl}${path}`)).status).toBe(200);
    }
    const health = createClient(
      Health,
      createConnectTransport({ baseUrl: inferd.baseUrl, httpVersion: "1.1" }),
    );
    expect((await health.check({ service: "iris" })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
  });

  it("guards the OpenAI routes: 401 invalid_api_key without the key, answers with it", async () => {
    const baseURL = `${inferd.baseUrl}/v1`;
    const before = await scrapeMetrics(inferd.baseUrl);
    const wrong = new OpenAI({ baseURL, apiKey: "nope", maxRetries: 0 });
    const error = await wrong.models.list().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(401);
    expect((error as APIError).code).toBe("invalid_api_key");
    const bare = await fetch(`${baseURL}/completions`, { method: "POST", body: "{}" });
    expect(bare.status).toBe(401);
    expect(bare.headers.get("www-authenticate")).toBe("Bearer");
    const right = new OpenAI({ baseURL, apiKey: "key-one", maxRetries: 0 });
    expect((await right.models.list()).data.map((m) => m.id)).toEqual(["tiny_llama"]);
    const completion = await right.completions.create({
      model: "tiny_llama",
      prompt: "hi",
      max_tokens: 2,
      ...({ ignore_eos: true } as object),
    });
    expect(completion.usage?.completion_tokens).toBe(2);
    // Refused or served, every /v1 request is counted and has an access-log line.
    const after = await scrapeMetrics(inferd.baseUrl);
    const delta = (labels: Record<string, string>) =>
      after.total("inferd_http_requests_total", labels) -
      before.total("inferd_http_requests_total", labels);
    expect(delta({ route: "/v1/models", method: "GET", code: "401" })).toBe(1);
    expect(delta({ route: "/v1/models", method: "GET", code: "200" })).toBe(1);
    expect(delta({ route: "/v1/completions", method: "POST", code: "401" })).toBe(1);
    expect(delta({ route: "/v1/completions", method: "POST", code: "200" })).toBe(1);
    // Over HTTP/2 too, the line names the peer.
    const session = http2.connect(inferd.baseUrl);
    await new Promise<void>((resolve, reject) => {
      const stream = session.request({ ":path": "/v1/models", authorization: "Bearer key-two" });
      stream.on("response", () => stream.resume());
      stream.on("end", resolve);
      stream.on("error", reject);
      stream.end();
    });
    session.close();
    await new Promise((r) => setTimeout(r, 50));
    const http = lines.filter((l) => l.msg === "http");
    expect(http.length).toBeGreaterThanOrEqual(5);
    expect(http.every((l) => l.peer === "127.0.0.1")).toBe(true);
    expect(http.filter((l) => l.status === 401 && l.level === 40)).toHaveLength(2);
    expect(http.some((l) => l.route === "/v1/completions" && l.status === 200)).toBe(true);
    expect(JSON.stringify(lines)).not.toContain("key-one");
  });
});
