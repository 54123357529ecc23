import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "../../gen/grpc/health/v1/health_pb.js";
import {
  InferenceService,
  PredictStreamRequestSchema,
  type PredictStreamResponse,
  PredictStreamResponseSchema,
} from "../../gen/inferd/v1/inference_pb.js";
import { grpcClient } from "../helpers/inferd-grpc.js";
import { openRawHttp1 } from "../helpers/raw-exchange.js";
import { startTestServer } from "../helpers/start-test-server.js";

describe("graceful shutdown", () => {
  it("finishes the slow call in flight, refuses new calls, fails readiness, then resolves", async () => {
    let slowStarted!: () => void;
    const started = new Promise<void>((resolve) => (slowStarted = resolve));
    const t = await startTestServer(
      { gracePeriodMs: 5000 },
      { events: { onSlowStart: () => slowStarted() } },
    );
    const client = createClient(
      InferenceService,
      createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "1.1" }),
    );
    const sessionManager = new Http2SessionManager(t.baseUrl);
    const health = createClient(
      Health,
      createGrpcTransport({ baseUrl: t.baseUrl, sessionManager }),
    );
    const watchAbort = new AbortController();
    let firstStatus!: () => void;
    const watching = new Promise<void>((resolve) => (firstStatus = resolve));
    const watch = (async () => {
      const seen: Status[] = [];
      try {
        for await (const r of health.watch({ service: "" }, { signal: watchAbort.signal })) {
          seen.push(r.status);
          firstStatus();
        }
      } catch (error) {
        return { seen, error };
      }
      return { seen, error: undefined };
    })();
    await watching;
    // Conventional per-service probes: every service served, reflection included.
    for (const service of ["inferd.v1.InferenceService", "grpc.reflection.v1.ServerReflection"]) {
      expect((await health.check({ service })).status).toBe(Status.SERVING);
    }
    const slow = client.predict({ model: "slow", version: 400, requestId: "in-flight" });
    await started;
    const t0 = Date.now();
    let shutdownDone = false;
    const shutdown = t.server.shutdown().then(() => (shutdownDone = true));

    const readyz = await fetch(`${t.baseUrl}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toMatchObject({ status: "not ready", shuttingDown: true });
    expect((await health.check({ service: "" })).status).toBe(Status.NOT_SERVING);
    expect((await health.check({ service: "m1" })).status).toBe(Status.NOT_SERVING);
    expect((await health.check({ service: "inferd.v1.InferenceService" })).status).toBe(
      Status.NOT_SERVING,
    );
    const refused = await client.predict({ model: "iris" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.Unavailable);
    expect((refused as ConnectError).rawMessage).toBe("server is shutting down");
    expect(shutdownDone).toBe(false);

    expect((await slow).requestId).toBe("in-flight");
    // The health Watch saw NOT_SERVING, and is ended with Unavailable once the drain is done.
    const watched = await watch;
    expect(watched.seen).toEqual([Status.SERVING, Status.NOT_SERVING]);
    expect(ConnectError.from(watched.error).code).toBe(Code.Unavailable);
    watchAbort.abort();
    sessionManager.abort();
    await shutdown;
    // Done once the slow call finished, long before the 5 s grace period.
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(t.registry.closed()).toBe(true);
  });

  it("ends a stream still open after the grace period with Unavailable", async () => {
    const t = await startTestServer({ gracePeriodMs: 200 });
    const client = grpcClient(t.port);
    const call = client.makeBidiStreamRequest(
      "/inferd.v1.InferenceService/PredictStream",
      (m: Uint8Array) => Buffer.from(m),
      (b: Buffer) => fromBinary(PredictStreamResponseSchema, b),
    );
    const got: PredictStreamResponse[] = [];
    const ended = new Promise<grpc.ServiceError>((resolve) => {
      call.on("data", (r: PredictStreamResponse) => got.push(r));
      call.on("error", resolve);
    });
    const first = new Promise((resolve) => call.once("data", resolve));
    const msg = create(PredictStreamRequestSchema, { request: { model: "iris", requestId: "s1" } });
    call.write(toBinary(PredictStreamRequestSchema, msg));
    await first;
    const t0 = Date.now();
    const shutdown = t.server.shutdown();
    const error = await ended;
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(error.details).toContain("grace period of 200 ms");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(got.map((r) => r.result?.requestId)).toEqual(["s1"]);
    client.close();
    await shutdown;
  });

  it("tells HTTP/1.1 keep-alive clients to close once draining, the call in flight included", async () => {
    let slowStarted!: () => void;
    const started = new Promise<void>((resolve) => (slowStarted = resolve));
    const t = await startTestServer(
      { gracePeriodMs: 5000 },
      { events: { onSlowStart: () => slowStarted() } },
    );
    const predict = (body: string) =>
      [
        `POST /inferd.v1.InferenceService/Predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`,
        body,
      ] as const;
    const idle = await openRawHttp1(t.port);
    const before = await idle.request(...predict('{"model":"iris"}'));
    expect(before.status).toBe(200);
    expect(before.headers.connection).toBe("keep-alive");
    const busy = await openRawHttp1(t.port);
    const slow = busy.request(...predict('{"model":"slow","version":400,"requestId":"in-flight"}'));
    await started;
    const shutdown = t.server.shutdown();

    // The idle connection's next request: Unavailable, and told to close (not reset later).
    const refused = await idle.request(...predict('{"model":"iris"}'));
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toMatchObject({ code: "unavailable" });
    expect(refused.headers.connection).toBe("close");
    expect(await idle.closed).toBeUndefined();
    // The call in flight when the drain began is answered, and told to close too.
    const answered = await slow;
    expect(answered.status).toBe(200);
    expect(JSON.parse(answered.body)).toMatchObject({ requestId: "in-flight" });
    expect(answered.headers.connection).toBe("close");
    expect(await busy.closed).toBeUndefined();
    await shutdown;
  });
});
