import * as grpc from "@grpc/grpc-js";
import { propagation, SpanKind, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcClient, grpcFailure, grpcPredict } from "../helpers/inferd-grpc.js";
import { irisInputs } from "../helpers/iris-reference.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const PARENT_ID = "b7ad6b7169203331";
const exporter = new InMemorySpanExporter();
let inferd: RunningInferd;
let client: grpc.Client;

// As an operator would with `node --import ./otel.mjs`: an SDK registered before the server.
beforeAll(async () => {
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  inferd = await startInferd({ models: ["iris"] });
  client = grpcClient(inferd.port);
});
afterAll(async () => {
  client?.close();
  await inferd?.close();
  trace.disable();
  propagation.disable();
});

describe("OpenTelemetry traces of the production server", () => {
  it("continues a grpc-js caller's trace with one SERVER span per Predict", async () => {
    exporter.reset();
    const metadata = new grpc.Metadata();
    metadata.set("traceparent", `00-${TRACE_ID}-${PARENT_ID}-01`);
    await grpcPredict(
      client,
      { model: "iris", requestId: "traced-1", inputs: irisInputs([[5.1, 3.5, 1.4, 0.2]]) },
      {},
      metadata,
    );
    await grpcFailure(grpcPredict(client, { model: "nope", requestId: "traced-2" }));
    const spans = exporter.getFinishedSpans();
    const ok = spans.find((s) => s.attributes["inferd.request_id"] === "traced-1");
    const missing = spans.find((s) => s.attributes["inferd.request_id"] === "traced-2");
    expect(ok?.name).toBe("inferd.v1.InferenceService/Predict");
    expect(ok?.kind).toBe(SpanKind.SERVER);
    expect(ok?.spanContext().traceId).toBe(TRACE_ID);
    expect(ok?.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(ok?.attributes).toMatchObject({
      "rpc.system": "grpc",
      "inferd.protocol": "grpc",
      "rpc.grpc.status_code": 0,
      "inferd.model": "iris",
      "client.address": "127.0.0.1",
    });
    expect(ok?.attributes["inferd.version"]).toBeGreaterThan(0);
    expect(missing?.attributes["rpc.grpc.status_code"]).toBe(grpc.status.NOT_FOUND);
    expect(missing?.spanContext().traceId).not.toBe(TRACE_ID);
  });
});
