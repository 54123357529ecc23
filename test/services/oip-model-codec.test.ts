import { type JsonValue, toJson } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ModelConfigRequestSchema,
  ModelConfigResponseSchema,
  ModelInferRequestSchema,
  ModelInferResponseSchema,
  ModelStatisticsRequestSchema,
  ModelStatisticsResponseSchema,
  ModelStatisticsSchema,
} from "../../gen/inference/grpc_service_pb.js";
import { ModelConfigSchema } from "../../gen/inference/model_config_pb.js";
import { grpcClient, grpcFailure, grpcPredict, grpcUnary } from "../helpers/inferd-grpc.js";
import { IRIS_SAMPLES } from "../helpers/iris-reference.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

const SERVICE = "/inference.GRPCInferenceService";
const N = 4;

let inferd: RunningInferd;
let client: grpc.Client;
beforeAll(async () => {
  // iris keeps the fixture's model.json (labels, latest 2, batching up to 64, 500 µs);
  // multi_io is unbatched, with the settings that map elsewhere.
  inferd = await startInferd({
    models: ["iris", "multi_io"],
    modelJson: {
      multi_io: { version_policy: "all", instance_count: 2, response_cache: { max_entries: 8 } },
    },
  });
  client = grpcClient(inferd.port);
});
afterAll(async () => {
  client?.close();
  await inferd?.close();
});

const statistics = (name: string, version = "") =>
  grpcUnary(
    client,
    `${SERVICE}/ModelStatistics`,
    { input: ModelStatisticsRequestSchema, output: ModelStatisticsResponseSchema },
    { name, version },
  );
const config = (name: string, version = "") =>
  grpcUnary(
    client,
    `${SERVICE}/ModelConfig`,
    { input: ModelConfigRequestSchema, output: ModelConfigResponseSchema },
    { name, version },
  );
const rest = async (path: string) => {
  const res = await fetch(`${inferd.baseUrl}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

/**
 * A protobuf-es ModelStatistics JSON as Triton's REST JSON: proto field names, 64-bit
 * counts as numbers (the version stays a string), no memory_usage (inferd reports none).
 */
function tritonJson(value: JsonValue, key = ""): JsonValue {
  if (typeof value === "string" && key !== "version" && /^\d+$/.test(value)) return Number(value);
  if (Array.isArray(value)) return value.map((v) => tritonJson(v));
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).filter(([k]) => k !== "memory_usage");
    return Object.fromEntries(entries.map(([k, v]) => [k, tritonJson(v, k)]));
  }
  return value;
}

describe("ModelStatistics on the production server", () => {
  it("counts Predict and ModelInfer requests, a failure, and answers REST with the same numbers", async () => {
    const before = Date.now();
    const rows = Array.from({ length: N }, (_, i) => [...(IRIS_SAMPLES[i % 3] ?? [])]);
    await Promise.all([
      ...rows.map((row) =>
        grpcPredict(client, {
          model: "iris",
          version: 2,
          inputs: { features: { shape: [1, 4], floatData: row } },
        }),
      ),
      ...rows.map((row) =>
        grpcUnary(
          client,
          `${SERVICE}/ModelInfer`,
          { input: ModelInferRequestSchema, output: ModelInferResponseSchema },
          {
            modelName: "iris",
            modelVersion: "2",
            inputs: [
              {
                name: "features",
                datatype: "FP32",
                shape: [1n, 4n],
                contents: { fp32Contents: row },
              },
            ],
          },
        ),
      ),
    ]);
    const bad = grpcPredict(client, {
      model: "iris",
      version: 2,
      inputs: { features: { shape: [1, 3], floatData: [1, 2, 3] } },
    });
    expect((await grpcFailure(bad)).code).toBe(status.INVALID_ARGUMENT);
    const after = Date.now();

    const [s, ...others] = (await statistics("iris", "2")).modelStats;
    expect(others).toEqual([]);
    expect([s?.name, s?.version]).toEqual(["iris", "2"]);
    expect(Number(s?.inferenceCount)).toBe(2 * N);
    expect(Number(s?.executionCount)).toBeGreaterThanOrEqual(1);
    expect(Number(s?.executionCount)).toBeLessThanOrEqual(2 * N);
    const inference = s?.inferenceStats;
    expect(Number(inference?.success?.count)).toBe(2 * N);
    expect(Number(inference?.success?.ns)).toBeGreaterThan(0);
    expect(Number(inference?.fail?.count)).toBe(1);
    expect(Number(inference?.queue?.count)).toBe(2 * N);
    expect(Number(inference?.computeInfer?.count)).toBe(2 * N);
    expect(Number(inference?.computeInfer?.ns)).toBeGreaterThan(0);
    const batchRows = s?.batchStats.reduce(
      (sum, b) => sum + Number(b.batchSize) * Number(b.computeInfer?.count),
      0,
    );
    expect(batchRows).toBe(2 * N);
    const executions = s?.batchStats.reduce((sum, b) => sum + Number(b.computeInfer?.count), 0);
    expect(executions).toBe(Number(s?.executionCount));
    expect(Number(s?.lastInference)).toBeGreaterThanOrEqual(before - 1000);
    expect(Number(s?.lastInference)).toBeLessThanOrEqual(after + 1000);

    // REST: Triton's JSON, the very numbers gRPC reported (nothing ran in between).
    const one = await rest("/v2/models/iris/versions/2/stats");
    expect(one.status).toBe(200);
    const expected = tritonJson(
      toJson(ModelStatisticsSchema, s ?? ({} as never), {
        useProtoFieldName: true,
        alwaysEmitImplicit: true,
      }),
    );
    expect(one.body).toEqual({ model_stats: [expected] });
  });

  it("lists every loaded version: all models, one model, one version", async () => {
    const ids = (stats: { name: string; version: string }[]) =>
      stats.map((m) => `${m.name}/${m.version}`);
    expect(ids((await statistics("")).modelStats)).toEqual(["iris/1", "iris/2", "multi_io/1"]);
    expect(ids((await statistics("iris")).modelStats)).toEqual(["iris/1", "iris/2"]);
    const all = await rest("/v2/models/stats");
    expect(ids(all.body.model_stats as { name: string; version: string }[])).toEqual([
      "iris/1",
      "iris/2",
      "multi_io/1",
    ]);
    const untouched = (await statistics("multi_io", "1")).modelStats[0];
    expect([untouched?.inferenceCount, untouched?.lastInference]).toEqual([0n, 0n]);
  });

  it("is NOT_FOUND (404 over REST) for an unknown model or version", async () => {
    expect((await grpcFailure(statistics("nope"))).code).toBe(status.NOT_FOUND);
    expect((await grpcFailure(statistics("iris", "7"))).code).toBe(status.NOT_FOUND);
    expect((await grpcFailure(statistics("iris", "two"))).code).toBe(status.INVALID_ARGUMENT);
    const missing = await rest("/v2/models/nope/stats");
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatch(/nope/);
    expect((await rest("/v2/models/iris/versions/7/stats")).status).toBe(404);
  });
});

describe("ModelConfig on the production server", () => {
  it("maps iris's batching model.json and signature, batch dim dropped", async () => {
    const answer = (await config("iris")).config;
    expect(toJson(ModelConfigSchema, answer ?? ({} as never))).toEqual({
      name: "iris",
      platform: "onnxruntime_onnx",
      backend: "onnxruntime",
      versionPolicy: { latest: { numVersions: 2 } },
      maxBatchSize: 64,
      input: [{ name: "features", dataType: "TYPE_FP32", dims: ["4"] }],
      output: [
        { name: "probabilities", dataType: "TYPE_FP32", dims: ["3"] },
        { name: "label", dataType: "TYPE_INT64" },
      ],
      instanceGroup: [{ name: "iris", count: 1, kind: "KIND_CPU" }],
      dynamicBatching: {
        maxQueueDelayMicroseconds: "500",
        defaultQueuePolicy: { allowTimeoutOverride: true, maxQueueSize: 1024 },
      },
      responseCache: {},
    });
    const json = await rest("/v2/models/iris/versions/2/config");
    expect(json.status).toBe(200);
    expect(json.body).toEqual({
      name: "iris",
      platform: "onnxruntime_onnx",
      backend: "onnxruntime",
      version_policy: { latest: { num_versions: 2 } },
      max_batch_size: 64,
      input: [{ name: "features", data_type: "TYPE_FP32", dims: [4] }],
      output: [
        { name: "probabilities", data_type: "TYPE_FP32", dims: [3] },
        { name: "label", data_type: "TYPE_INT64", dims: [] },
      ],
      instance_group: [{ name: "iris", count: 1, kind: "KIND_CPU" }],
      dynamic_batching: {
        preferred_batch_size: [],
        max_queue_delay_microseconds: 500,
        priority_levels: 0,
        default_priority_level: 0,
        default_queue_policy: {
          timeout_action: "REJECT",
          default_timeout_microseconds: 0,
          allow_timeout_override: true,
          max_queue_size: 1024,
        },
      },
      response_cache: { enable: false },
    });
  });

  it("maps an unbatched model: max_batch_size 0, full dims, no dynamic batching", async () => {
    const answer = (await config("multi_io", "1")).config;
    expect(toJson(ModelConfigSchema, answer ?? ({} as never))).toEqual({
      name: "multi_io",
      platform: "onnxruntime_onnx",
      backend: "onnxruntime",
      versionPolicy: { all: {} },
      input: [
        { name: "a", dataType: "TYPE_FP32", dims: ["-1", "3"] },
        { name: "b", dataType: "TYPE_FP32", dims: ["-1", "3"] },
        { name: "k", dataType: "TYPE_INT64", dims: ["-1", "1"] },
      ],
      output: [
        { name: "sum", dataType: "TYPE_FP32", dims: ["-1", "3"] },
        { name: "scaled", dataType: "TYPE_FP32", dims: ["-1", "3"] },
        { name: "dot", dataType: "TYPE_FP32", dims: ["-1"] },
      ],
      instanceGroup: [{ name: "multi_io", count: 2, kind: "KIND_CPU" }],
      responseCache: { enable: true },
    });
  });

  it("is NOT_FOUND (404 over REST) for an unknown model or version", async () => {
    expect((await grpcFailure(config("nope"))).code).toBe(status.NOT_FOUND);
    expect((await grpcFailure(config("iris", "9"))).code).toBe(status.NOT_FOUND);
    expect((await rest("/v2/models/nope/config")).status).toBe(404);
    expect((await rest("/v2/models/iris/versions/9/config")).status).toBe(404);
  });
});
