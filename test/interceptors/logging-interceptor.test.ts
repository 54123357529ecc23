import { Writable } from "node:stream";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { beforeEach, describe, expect, it } from "vitest";
import { GenerationService } from "../../gen/inferd/v1/generation_pb.js";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { DataType } from "../../gen/inferd/v1/tensor_pb.js";
import { createLoggingInterceptor } from "../../src/interceptors/logging-interceptor.js";
import { createLogger } from "../../src/logging/logger.js";
import { fakeRoutes } from "./fake-services.js";

describe("createLoggingInterceptor", () => {
  let raw: string[];
  let inference: ReturnType<typeof createClient<typeof InferenceService>>;
  let generation: ReturnType<typeof createClient<typeof GenerationService>>;
  const lines = () =>
    raw
      .join("")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeEach(() => {
    raw = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        raw.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ level: "info", destination });
    const transport = createRouterTransport(fakeRoutes([createLoggingInterceptor(logger)]));
    inference = createClient(InferenceService, transport);
    generation = createClient(GenerationService, transport);
  });

  it("logs a failed call at warn with its code and model, and no payload or credentials", async () => {
    const x = { dtype: DataType.FLOAT32, shape: [1, 2], floatData: [123.456, 654.321] };
    await expect(
      inference.predict(
        { model: "bad", requestId: "req-7", inputs: { x } },
        {
          headers: {
            authorization: "Bearer s3cret-token",
            "x-forwarded-for": "203.0.113.7, 10.0.0.1",
          },
        },
      ),
    ).rejects.toThrow();
    expect(lines()).toHaveLength(1);
    const line = lines()[0];
    expect(line).toMatchObject({
      level: 40,
      msg: "rpc",
      procedure: "/inferd.v1.InferenceService/Predict",
      protocol: "connect",
      code: "invalid_argument",
      peer: "203.0.113.7",
      request_id: "req-7",
      model: "bad",
    });
    expect(typeof line?.duration_ms).toBe("number");
    expect(line?.duration_ms).toBeGreaterThanOrEqual(0);
    const all = raw.join("");
    expect(all).not.toContain("123.456");
    expect(all).not.toContain("654.321");
    expect(all).not.toContain("s3cret");
  });

  it("logs an OK call at info with the served version from the response", async () => {
    await inference.predict({ model: "iris" });
    expect(lines()).toEqual([
      expect.objectContaining({
        level: 30,
        code: "ok",
        model: "iris",
        version: 3,
        request_id: "generated-id",
        peer: "",
      }),
    ]);
  });

  it("logs a server fault at error with the message the client did not get", async () => {
    await expect(inference.predict({ model: "crash" })).rejects.toThrow();
    expect(lines()).toEqual([
      expect.objectContaining({
        level: 50,
        code: "unknown",
        model: "crash",
        error: "session exploded",
      }),
    ]);
  });

  it("logs one line per stream, when it ends, with fields from its messages", async () => {
    const texts: string[] = [];
    for await (const r of generation.generate({ model: "llm", prompt: "hi", requestId: "g1" })) {
      texts.push(r.text);
      expect(lines()).toEqual([]);
    }
    expect(texts).toEqual(["h", "i"]);
    async function* requests() {
      yield { request: { model: "iris", requestId: "s1" } };
    }
    for await (const _ of inference.predictStream(requests())) {
      // drain
    }
    expect(lines().map((l) => [l.procedure, l.code, l.model, l.version, l.request_id])).toEqual([
      ["/inferd.v1.GenerationService/Generate", "ok", "llm", 2, "g1"],
      ["/inferd.v1.InferenceService/PredictStream", "ok", "iris", undefined, "s1"],
    ]);
  });
});
