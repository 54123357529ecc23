import { createClient, createRouterTransport } from "@connectrpc/connect";
import { propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GenerationService } from "../../gen/inferd/v1/generation_pb.js";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { createTracingInterceptor } from "../../src/interceptors/tracing-interceptor.js";
import { fakeRoutes } from "./fake-services.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID = "00f067aa0ba902b7";

function clients() {
  const transport = createRouterTransport(fakeRoutes([createTracingInterceptor()]));
  return {
    inference: createClient(InferenceService, transport),
    generation: createClient(GenerationService, transport),
  };
}

describe("createTracingInterceptor", () => {
  describe("with an SDK registered", () => {
    const exporter = new InMemorySpanExporter();
    beforeAll(() => {
      const provider = new BasicTracerProvider({
        spanProcessors: [new SimpleSpanProcessor(exporter)],
      });
      trace.setGlobalTracerProvider(provider);
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    });
    afterAll(() => {
      trace.disable();
      propagation.disable();
    });
    beforeEach(() => exporter.reset());

    it("records a SERVER span per call, a child of the caller's traceparent", async () => {
      const { inference } = clients();
      await inference.predict(
        { model: "iris", requestId: "r-1" },
        { headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` } },
      );
      const [span] = exporter.getFinishedSpans();
      expect(exporter.getFinishedSpans()).toHaveLength(1);
      expect(span?.name).toBe("inferd.v1.InferenceService/Predict");
      expect(span?.kind).toBe(SpanKind.SERVER);
      expect(span?.spanContext().traceId).toBe(TRACE_ID);
      expect(span?.parentSpanContext?.spanId).toBe(PARENT_ID);
      expect(span?.attributes).toMatchObject({
        "rpc.system": "connect_rpc",
        "rpc.service": "inferd.v1.InferenceService",
        "rpc.method": "Predict",
        "rpc.grpc.status_code": 0,
        "inferd.model": "iris",
        "inferd.version": 3,
        "inferd.request_id": "r-1",
      });
      expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    });

    it("starts a new trace without a traceparent, and marks server faults only as errors", async () => {
      const { inference } = clients();
      await expect(inference.predict({ model: "bad" })).rejects.toThrow();
      await expect(inference.predict({ model: "crash" })).rejects.toThrow();
      const [bad, crash] = exporter.getFinishedSpans();
      expect(bad?.parentSpanContext).toBeUndefined();
      expect(bad?.attributes["rpc.grpc.status_code"]).toBe(3);
      expect(bad?.status.code).toBe(SpanStatusCode.UNSET);
      expect(crash?.attributes["rpc.grpc.status_code"]).toBe(2);
      expect(crash?.status.code).toBe(SpanStatusCode.ERROR);
    });

    it("ends a streaming call's span when its stream ends, with the stream's code", async () => {
      const { generation } = clients();
      const chunks: string[] = [];
      await expect(
        (async () => {
          for await (const c of generation.generate({ model: "overload", prompt: "abc" })) {
            chunks.push(c.text);
          }
        })(),
      ).rejects.toThrow();
      expect(chunks).toEqual(["a"]);
      const [span] = exporter.getFinishedSpans();
      expect(span?.name).toBe("inferd.v1.GenerationService/Generate");
      expect(span?.attributes["rpc.grpc.status_code"]).toBe(8);
    });
  });

  it("records nothing and changes nothing without an SDK", async () => {
    const { inference } = clients();
    const response = await inference.predict({ model: "iris", requestId: "r-2" });
    expect(response.requestId).toBe("r-2");
    expect(trace.getTracer("inferd").startSpan("probe").isRecording()).toBe(false);
  });
});
