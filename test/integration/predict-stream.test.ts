import { cp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type PredictRequestSchema,
  type PredictStreamRequest,
  PredictStreamRequestSchema,
  type PredictStreamResponse,
  PredictStreamResponseSchema,
} from "../../gen/inferd/v1/inference_pb.js";
import { grpcClient, INFERENCE_SERVICE } from "../helpers/inferd-grpc.js";
import {
  distinctIrisRows,
  irisExpected,
  irisInputs,
  maxAbsDiff,
} from "../helpers/iris-reference.js";
import { scrapeMetrics } from "../helpers/scrape-metrics.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

/** A copy of iris whose batcher holds requests for 2 s: work that a cancel must remove. */
const SLOW = "iris_slow";
const SLOW_DELAY_MS = 2000;

let inferd: RunningInferd;
let client: grpc.Client;

beforeAll(async () => {
  inferd = await startInferd({
    models: ["iris"],
    prepare: async (repo) => {
      await cp(join(repo, "iris", "2"), join(repo, SLOW, "2"), { recursive: true });
      const config = {
        max_batch_size: 8,
        max_queue_delay_us: SLOW_DELAY_MS * 1000,
        queue_delay: "fixed",
      };
      await writeFile(join(repo, SLOW, "model.json"), JSON.stringify(config));
    },
  });
  client = grpcClient(inferd.port);
});
afterAll(async () => {
  client?.close();
  await inferd?.close();
});

interface OpenStream {
  readonly call: grpc.ClientDuplexStream<PredictStreamRequest, PredictStreamResponse>;
  readonly responses: PredictStreamResponse[];
  /** Settles with the final status (OK, or the error's). */
  readonly status: Promise<grpc.StatusObject>;
  send(request: MessageInitShape<typeof PredictRequestSchema>): void;
}

function openStream(): OpenStream {
  const call = client.makeBidiStreamRequest(
    `${INFERENCE_SERVICE}/PredictStream`,
    (m: PredictStreamRequest) => Buffer.from(toBinary(PredictStreamRequestSchema, m)),
    (b: Buffer) => fromBinary(PredictStreamResponseSchema, b),
  );
  const responses: PredictStreamResponse[] = [];
  call.on("data", (r: PredictStreamResponse) => responses.push(r));
  // grpc-js emits "error" for a non-OK status and "status" always; listen to both.
  call.on("error", () => {});
  const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  const send = (request: MessageInitShape<typeof PredictRequestSchema>) =>
    call.write(create(PredictStreamRequestSchema, { request }));
  return { call, responses, status, send };
}

describe("PredictStream over grpc-js (bidi)", () => {
  it("answers 1,000 messages in order, a bad one in the middle failing alone; half-close ends OK", async () => {
    const count = 1000;
    const bad = 500;
    const stream = openStream();
    for (let i = 0; i < count; i++) {
      const requestId = `s${i}`;
      if (i === bad) {
        stream.send({ model: "iris", requestId, inputs: { features: { shape: [1, 4] } } });
      } else {
        stream.send({ model: "iris", requestId, inputs: irisInputs(distinctIrisRows(1, i)) });
      }
    }
    stream.call.end();
    const status = await stream.status;
    expect(status.code).toBe(grpc.status.OK);
    expect(stream.responses.map((r) => r.result?.requestId)).toEqual(
      Array.from({ length: count }, (_, i) => `s${i}`),
    );
    stream.responses.forEach((r, i) => {
      const result = r.result?.result;
      if (i === bad) {
        expect(result?.case).toBe("error");
        const error = result?.case === "error" ? result.value : undefined;
        expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(error?.message).toContain('input "features"');
        return;
      }
      const res = result?.case === "response" ? result.value : undefined;
      expect(res?.version).toBe(2);
      const expected = irisExpected(2, distinctIrisRows(1, i));
      const got = res?.outputs.probabilities?.floatData ?? [];
      expect(maxAbsDiff(got, expected.probabilities)).toBeLessThan(1e-6);
    });
  });

  it("a client cancel removes the stream's queued requests: they are never computed", async () => {
    const labels = { model: SLOW, version: "2" };
    const stream = openStream();
    const sentAt = Date.now();
    for (let i = 0; i < 3; i++) {
      stream.send({ model: SLOW, requestId: `q${i}`, inputs: irisInputs(distinctIrisRows(1, i)) });
    }
    await expect
      .poll(async () =>
        (await scrapeMetrics(inferd.baseUrl)).total("inferd_inference_queue_depth", labels),
      )
      .toBe(3);
    stream.call.cancel();
    expect((await stream.status).code).toBe(grpc.status.CANCELLED);
    await expect
      .poll(
        async () => {
          const m = await scrapeMetrics(inferd.baseUrl);
          return m.total("inferd_inference_rejected_total", { ...labels, kind: "canceled" });
        },
        { timeout: 5000 },
      )
      .toBe(3);
    // Past the moment the batcher would have run them had they stayed queued.
    await new Promise((r) => setTimeout(r, Math.max(0, sentAt + SLOW_DELAY_MS + 300 - Date.now())));
    const m = await scrapeMetrics(inferd.baseUrl);
    expect(m.total("inferd_inference_queue_depth", labels)).toBe(0);
    expect(m.total("inferd_inference_batch_size_count", labels)).toBe(0);
    expect(m.total("inferd_inference_requests_total", { ...labels, code: "canceled" })).toBe(3);
    expect(m.total("inferd_inference_requests_total", { ...labels, code: "ok" })).toBe(0);
    expect(stream.responses).toEqual([]);
    expect(
      m.total("inferd_grpc_server_handled_total", {
        grpc_method: "PredictStream",
        grpc_code: "Canceled",
      }),
    ).toBe(1);
    // The metric is live for this model: a full batch (8 rows) runs at once and counts.
    const full = openStream();
    full.send({ model: SLOW, requestId: "full", inputs: irisInputs(distinctIrisRows(8, 0)) });
    full.call.end();
    expect((await full.status).code).toBe(grpc.status.OK);
    const later = await scrapeMetrics(inferd.baseUrl);
    expect(later.total("inferd_inference_batch_size_count", labels)).toBe(1);
    expect(later.total("inferd_inference_batch_size_sum", labels)).toBe(8);
  });
});
