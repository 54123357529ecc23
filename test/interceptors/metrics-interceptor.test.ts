import {
  createClient,
  createConnectRouter,
  createRouterTransport,
  type Interceptor,
} from "@connectrpc/connect";
import { createUniversalHandlerClient } from "@connectrpc/connect/protocol";
import { createTransport as createGrpcTransport } from "@connectrpc/connect/protocol-grpc";
import { createTransport as createGrpcWebTransport } from "@connectrpc/connect/protocol-grpc-web";
import type { MetricValue } from "prom-client";
import { beforeEach, describe, expect, it } from "vitest";
import { GenerationService } from "../../gen/inferd/v1/generation_pb.js";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { createMetricsInterceptor } from "../../src/interceptors/metrics-interceptor.js";
import { createInferdMetrics, type InferdMetrics } from "../../src/metrics/inferd-metrics.js";
import { fakeRoutes } from "./fake-services.js";

const PREDICT = {
  grpc_service: "inferd.v1.InferenceService",
  grpc_method: "Predict",
  grpc_type: "unary",
  protocol: "connect",
};
const GENERATE = {
  grpc_service: "inferd.v1.GenerationService",
  grpc_method: "Generate",
  grpc_type: "server_stream",
  protocol: "connect",
};

async function values(metrics: InferdMetrics, name: string) {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values as (MetricValue<string> & { metricName?: string })[];
}

async function sampleValue(metrics: InferdMetrics, name: string, labels: Record<string, string>) {
  const found = (await values(metrics, name)).filter(
    (v) => JSON.stringify(v.labels) === JSON.stringify(labels),
  );
  return found.length === 0 ? 0 : found[0]?.value;
}

function transportFor(kind: "grpc" | "grpc_web", interceptors: Interceptor[]) {
  const router = createConnectRouter();
  fakeRoutes(interceptors)(router);
  const create = kind === "grpc" ? createGrpcTransport : createGrpcWebTransport;
  return create({
    httpClient: createUniversalHandlerClient(router.handlers),
    baseUrl: "https://in-memory",
    useBinaryFormat: true,
    interceptors: [],
    acceptCompression: [],
    sendCompression: null,
    compressMinBytes: Number.MAX_SAFE_INTEGER,
    readMaxBytes: Number.MAX_SAFE_INTEGER,
    writeMaxBytes: Number.MAX_SAFE_INTEGER,
  });
}

describe("createMetricsInterceptor", () => {
  let metrics: InferdMetrics;
  let inference: ReturnType<typeof createClient<typeof InferenceService>>;
  let generation: ReturnType<typeof createClient<typeof GenerationService>>;

  beforeEach(() => {
    metrics = createInferdMetrics({ collectDefault: false });
    const transport = createRouterTransport(fakeRoutes([createMetricsInterceptor(metrics)]));
    inference = createClient(InferenceService, transport);
    generation = createClient(GenerationService, transport);
  });

  it("counts an OK and an InvalidArgument unary call with their codes", async () => {
    await inference.predict({ model: "iris" });
    await expect(inference.predict({ model: "bad" })).rejects.toThrow(/float32/);
    expect(await sampleValue(metrics, "inferd_grpc_server_started_total", PREDICT)).toBe(2);
    expect(await values(metrics, "inferd_grpc_server_handled_total")).toEqual([
      { labels: { ...PREDICT, grpc_code: "OK" }, value: 1 },
      { labels: { ...PREDICT, grpc_code: "InvalidArgument" }, value: 1 },
    ]);
    const count = (await values(metrics, "inferd_grpc_server_handling_seconds")).find(
      (v) => v.metricName === "inferd_grpc_server_handling_seconds_count",
    );
    expect(count?.labels).toEqual(PREDICT);
    expect(count?.value).toBe(2);
  });

  it("counts a server stream as handled only when the stream ends", async () => {
    const stream = generation.generate({ model: "llm", prompt: "abc" })[Symbol.asyncIterator]();
    const first = await stream.next();
    expect(first.value?.text).toBe("a");
    expect(await sampleValue(metrics, "inferd_grpc_server_started_total", GENERATE)).toBe(1);
    expect(await values(metrics, "inferd_grpc_server_handled_total")).toEqual([]);
    const rest: string[] = [];
    for (let r = await stream.next(); !r.done; r = await stream.next()) rest.push(r.value.text);
    expect(rest).toEqual(["b", "c"]);
    expect(await values(metrics, "inferd_grpc_server_handled_total")).toEqual([
      { labels: { ...GENERATE, grpc_code: "OK" }, value: 1 },
    ]);
  });

  it("records the code a stream fails with mid-way", async () => {
    const texts: string[] = [];
    await expect(async () => {
      for await (const r of generation.generate({ model: "overload", prompt: "abc" }))
        texts.push(r.text);
    }).rejects.toThrow(/kv cache full/);
    expect(texts).toEqual(["a"]);
    expect(await values(metrics, "inferd_grpc_server_handled_total")).toEqual([
      { labels: { ...GENERATE, grpc_code: "ResourceExhausted" }, value: 1 },
    ]);
  });

  it("records canceled when the client abandons a stream", async () => {
    const controller = new AbortController();
    const stream = generation.generate(
      { model: "llm", prompt: "abcdef" },
      { signal: controller.signal },
    );
    for await (const r of stream) {
      expect(r.text).toBe("a");
      controller.abort();
      break;
    }
    await expect
      .poll(() => values(metrics, "inferd_grpc_server_handled_total"))
      .toEqual([{ labels: { ...GENERATE, grpc_code: "Canceled" }, value: 1 }]);
  });

  it("labels a bidi stream bidi_stream and an unknown error unknown", async () => {
    async function* requests() {
      yield { request: { model: "iris", requestId: "r1" } };
      yield { request: { model: "iris", requestId: "r2" } };
    }
    const ids: string[] = [];
    for await (const r of inference.predictStream(requests())) ids.push(r.result?.requestId ?? "");
    expect(ids).toEqual(["r1", "r2"]);
    await expect(inference.predict({ model: "crash" })).rejects.toThrow();
    const handled = await values(metrics, "inferd_grpc_server_handled_total");
    expect(
      handled.map((v) => [v.labels.grpc_method, v.labels.grpc_type, v.labels.grpc_code, v.value]),
    ).toEqual([
      ["PredictStream", "bidi_stream", "OK", 1],
      ["Predict", "unary", "Unknown", 1],
    ]);
  });

  it.each(["grpc", "grpc_web"] as const)(
    "labels calls over %s with that protocol",
    async (kind) => {
      const client = createClient(
        InferenceService,
        transportFor(kind, [createMetricsInterceptor(metrics)]),
      );
      await client.predict({ model: "iris" });
      await expect(client.predict({ model: "bad" })).rejects.toThrow();
      expect(await values(metrics, "inferd_grpc_server_handled_total")).toEqual([
        { labels: { ...PREDICT, protocol: kind, grpc_code: "OK" }, value: 1 },
        { labels: { ...PREDICT, protocol: kind, grpc_code: "InvalidArgument" }, value: 1 },
      ]);
    },
  );
});
