import type * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ModelInferRequestSchema,
  ModelInferResponseSchema,
  ModelStatisticsRequestSchema,
  ModelStatisticsResponseSchema,
} from "../../gen/inference/grpc_service_pb.js";
import { captureLogs } from "../helpers/captured-logs.js";
import { grpcClient, grpcUnary } from "../helpers/inferd-grpc.js";
import { IRIS_SAMPLES } from "../helpers/iris-reference.js";
import { type Scrape, scrapeMetrics } from "../helpers/scrape-metrics.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

/** The fixture's iris model.json, with the response cache on. */
const IRIS_JSON = {
  labels: ["setosa", "versicolor", "virginica"],
  version_policy: { latest: 2 },
  max_batch_size: 64,
  max_queue_delay_us: 500,
  response_cache: { max_entries: 16 },
};
const SERVICE = "/inference.GRPCInferenceService";
const MODEL_INFER = {
  grpc_service: "inference.GRPCInferenceService",
  grpc_method: "ModelInfer",
  grpc_type: "unary",
  protocol: "grpc",
};
const IRIS_V2 = { model: "iris", version: "2" };
const INFER_ROUTE = "/v2/models/{model}[/versions/{version}]/infer";

const logs = captureLogs();
let inferd: RunningInferd;
let client: grpc.Client;

beforeAll(async () => {
  inferd = await startInferd({ modelJson: { iris: IRIS_JSON }, logger: logs.logger });
  client = grpcClient(inferd.port);
});
afterAll(async () => {
  client?.close();
  await inferd?.close();
});

const delta = (before: Scrape, after: Scrape, name: string, labels: Record<string, string>) =>
  after.total(name, labels) - before.total(name, labels);

/** One ModelInfer of `rows` Iris rows on version 2 (typed contents). */
const modelInfer = (id: string, rows: readonly (readonly number[])[]) =>
  grpcUnary(
    client,
    `${SERVICE}/ModelInfer`,
    { input: ModelInferRequestSchema, output: ModelInferResponseSchema },
    {
      modelName: "iris",
      modelVersion: "2",
      id,
      inputs: [
        {
          name: "features",
          datatype: "FP32",
          shape: [BigInt(rows.length), 4n],
          contents: { fp32Contents: rows.flat() },
        },
      ],
    },
  );

async function cacheHits(): Promise<bigint> {
  const stats = await grpcUnary(
    client,
    `${SERVICE}/ModelStatistics`,
    { input: ModelStatisticsRequestSchema, output: ModelStatisticsResponseSchema },
    { name: "iris", version: "2" },
  );
  return stats.modelStats[0]?.inferenceStats?.cacheHit?.count ?? -1n;
}

describe("the Open Inference Protocol observed as inferd.v1 is", () => {
  it("answers a repeated ModelInfer from the response cache (ModelStatistics and the cache metric)", async () => {
    const rows = [IRIS_SAMPLES[0] ?? [], IRIS_SAMPLES[1] ?? []];
    const hitsBefore = await cacheHits();
    const before = await scrapeMetrics(inferd.baseUrl);
    const first = await modelInfer("oip-cache-1", rows);
    const second = await modelInfer("oip-cache-2", rows);
    const after = await scrapeMetrics(inferd.baseUrl);
    expect(second.outputs).toEqual(first.outputs);
    expect(await cacheHits()).toBe(hitsBefore + 1n);
    expect(delta(before, after, "inferd_response_cache_hits_total", IRIS_V2)).toBe(1);
    expect(delta(before, after, "inferd_response_cache_misses_total", IRIS_V2)).toBe(1);
  });

  it("logs ModelInfer's rpc line with its procedure, code, model, version and id, and counts it", async () => {
    const before = await scrapeMetrics(inferd.baseUrl);
    await modelInfer("oip-log-1", [IRIS_SAMPLES[2] ?? []]);
    const after = await scrapeMetrics(inferd.baseUrl);
    await expect.poll(() => logs.rpcLines("oip-log-1").length, { timeout: 5000 }).toBe(1);
    expect(logs.rpcLines("oip-log-1")[0]).toMatchObject({
      level: 30,
      procedure: "/inference.GRPCInferenceService/ModelInfer",
      protocol: "grpc",
      code: "ok",
      model: "iris",
      version: 2,
    });
    const handled = "inferd_grpc_server_handled_total";
    expect(delta(before, after, handled, { ...MODEL_INFER, grpc_code: "OK" })).toBe(1);
    const requests = "inferd_inference_requests_total";
    expect(delta(before, after, requests, { ...IRIS_V2, code: "ok" })).toBe(1);
    expect(delta(before, after, "inferd_inference_request_duration_seconds_count", IRIS_V2)).toBe(
      1,
    );
  });

  it("logs and counts REST infer under its route pattern, and counts it in the inference series", async () => {
    const before = await scrapeMetrics(inferd.baseUrl);
    const res = await fetch(`${inferd.baseUrl}/v2/models/iris/versions/2/infer`, {
      method: "POST",
      body: JSON.stringify({
        inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: [6.1, 2.8, 4.7, 1.2] }],
      }),
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const line = () =>
      logs.parsed().filter((l) => l.msg === "http" && l.route === INFER_ROUTE && l.status === 200);
    await expect.poll(() => line().length, { timeout: 5000 }).toBe(1);
    expect(line()[0]).toMatchObject({ level: 30, method: "POST" });
    const after = await scrapeMetrics(inferd.baseUrl);
    const labels = { route: INFER_ROUTE, method: "POST", code: "200" };
    expect(delta(before, after, "inferd_http_requests_total", labels)).toBe(1);
    const requests = "inferd_inference_requests_total";
    expect(delta(before, after, requests, { ...IRIS_V2, code: "ok" })).toBe(1);
  });
});
