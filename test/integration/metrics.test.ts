import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import type * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { grpcClient, grpcFailure, grpcPredict } from "../helpers/inferd-grpc.js";
import { IRIS_SAMPLES, irisInputs } from "../helpers/iris-reference.js";
import { parseMetrics, type Scrape, scrapeMetrics } from "../helpers/scrape-metrics.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

let inferd: RunningInferd;
let client: grpc.Client;

beforeAll(async () => {
  inferd = await startInferd({ models: ["iris"] });
  client = grpcClient(inferd.port);
});
afterAll(async () => {
  client?.close();
  await inferd?.close();
});

const PREDICT = {
  grpc_service: "inferd.v1.InferenceService",
  grpc_method: "Predict",
  grpc_type: "unary",
};
const delta = (before: Scrape, after: Scrape, name: string, labels: Record<string, string>) =>
  after.total(name, labels) - before.total(name, labels);

describe("/metrics on the production server", () => {
  it("is valid Prometheus text with the inferd families typed", async () => {
    const m = await scrapeMetrics(inferd.baseUrl);
    expect(m.types.get("inferd_inference_requests_total")).toBe("counter");
    expect(m.types.get("inferd_grpc_server_handled_total")).toBe("counter");
    expect(m.types.get("inferd_inference_batch_size")).toBe("histogram");
    expect(m.types.get("inferd_inference_queue_depth")).toBe("gauge");
    expect(m.types.get("inferd_process_cpu_user_seconds_total")).toBe("counter");
    expect(m.total("inferd_model_state", { model: "iris", version: "2", state: "ready" })).toBe(1);
    expect(m.total("inferd_model_state", { model: "iris", version: "2", state: "loading" })).toBe(
      0,
    );
    expect(m.total("inferd_model_state", { model: "iris", state: "ready" })).toBe(2);
  });

  it("moves the request counters by exactly 3 OK and 1 InvalidArgument after 4 grpc-js Predicts", async () => {
    const before = await scrapeMetrics(inferd.baseUrl);
    for (let i = 0; i < 3; i++) {
      await grpcPredict(client, { model: "iris", version: 2, inputs: irisInputs(IRIS_SAMPLES) });
    }
    const bad = {
      model: "iris",
      version: 2,
      inputs: { features: { shape: [1, 3], floatData: [1, 2, 3] } },
    };
    await grpcFailure(grpcPredict(client, bad));
    const after = await scrapeMetrics(inferd.baseUrl);

    const requests = "inferd_inference_requests_total";
    expect(delta(before, after, requests, { model: "iris", version: "2", code: "ok" })).toBe(3);
    expect(
      delta(before, after, requests, { model: "iris", version: "2", code: "invalid_argument" }),
    ).toBe(1);
    expect(delta(before, after, requests, { model: "iris", version: "1" })).toBe(0);
    const grpcLabels = { ...PREDICT, protocol: "grpc" };
    const handled = "inferd_grpc_server_handled_total";
    expect(delta(before, after, handled, { ...grpcLabels, grpc_code: "OK" })).toBe(3);
    expect(delta(before, after, handled, { ...grpcLabels, grpc_code: "InvalidArgument" })).toBe(1);
    expect(delta(before, after, "inferd_grpc_server_started_total", grpcLabels)).toBe(4);
    expect(delta(before, after, "inferd_grpc_server_handling_seconds_count", grpcLabels)).toBe(4);
    expect(
      delta(before, after, "inferd_inference_request_duration_seconds_count", { model: "iris" }),
    ).toBe(4);
  });

  it("labels calls by protocol: Connect and gRPC-Web count apart from gRPC", async () => {
    const before = await scrapeMetrics(inferd.baseUrl);
    const connect = createClient(
      InferenceService,
      createConnectTransport({ baseUrl: inferd.baseUrl, httpVersion: "1.1" }),
    );
    const web = createClient(
      InferenceService,
      createGrpcWebTransport({ baseUrl: inferd.baseUrl, httpVersion: "1.1" }),
    );
    await connect.predict({ model: "iris", inputs: irisInputs(IRIS_SAMPLES) });
    await connect.predict({ model: "iris", inputs: irisInputs(IRIS_SAMPLES) });
    await web.predict({ model: "iris", inputs: irisInputs(IRIS_SAMPLES) });
    await web.predict({ model: "nope" }).catch(() => undefined);
    const after = await scrapeMetrics(inferd.baseUrl);
    const handled = "inferd_grpc_server_handled_total";
    expect(
      delta(before, after, handled, { ...PREDICT, protocol: "connect", grpc_code: "OK" }),
    ).toBe(2);
    expect(
      delta(before, after, handled, { ...PREDICT, protocol: "grpc_web", grpc_code: "OK" }),
    ).toBe(1);
    expect(
      delta(before, after, handled, { ...PREDICT, protocol: "grpc_web", grpc_code: "NotFound" }),
    ).toBe(1);
    expect(delta(before, after, handled, { ...PREDICT, protocol: "grpc" })).toBe(0);
    // An unknown model never reaches a version: no per-model count.
    expect(delta(before, after, "inferd_inference_requests_total", { code: "not_found" })).toBe(0);
  });
});

describe("the test's Prometheus parser", () => {
  it("rejects what Prometheus would reject", () => {
    const typed = "# TYPE a_total counter\n";
    expect(parseMetrics(`${typed}a_total{x="1"} 3\n`).total("a_total", { x: "1" })).toBe(3);
    expect(() => parseMetrics('b_total{x="1"} 3\n')).toThrow(/untyped family/);
    expect(() => parseMetrics(`${typed}a_total{x=1} 3\n`)).toThrow(/malformed/);
    expect(() => parseMetrics(`${typed}a_total 3 4 5\n`)).toThrow(/malformed/);
    expect(() => parseMetrics(`${typed}a_total three\n`)).toThrow(/not a number/);
    expect(() => parseMetrics(`${typed}${typed}`)).toThrow(/second TYPE/);
  });
});
