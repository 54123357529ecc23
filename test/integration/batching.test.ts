import { cp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InferenceService, type PredictResponse } from "../../gen/inferd/v1/inference_pb.js";
import { grpcClient, grpcPredict } from "../helpers/inferd-grpc.js";
import {
  distinctIrisRows,
  IRIS_LABELS,
  irisExpected,
  irisInputs,
  maxAbsDiff,
} from "../helpers/iris-reference.js";
import { type Scrape, scrapeMetrics } from "../helpers/scrape-metrics.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

/** iris_hold keeps a lone request queued this long and admits at most 2 waiting requests. */
const HOLD_MS = 1200;
const HOLD = "iris_hold";
/** iris_mates runs a batch only when 9 rows are queued (or after 5 s). */
const MATES = "iris_mates";
/** iris_adaptive: the default queue delay; a 5 s max_queue_delay_us it should never wait out. */
const ADAPTIVE = "iris_adaptive";
/** iris_big keeps the default max_queue_size (1,024): fewer than one large BatchPredict's items. */
const BIG = "iris_big";

let inferd: RunningInferd;
let client: grpc.Client;

beforeAll(async () => {
  inferd = await startInferd({
    models: ["iris"],
    // The window test sends 1,300 items: past the default --max-batch-predict-items.
    config: { maxBatchPredictItems: 2000 },
    // The settings, held for the delay (the 64-call test counts batches); no
    // version_policy: the newest version (2) only.
    modelJson: {
      iris: {
        labels: IRIS_LABELS,
        max_batch_size: 32,
        max_queue_delay_us: 20_000,
        queue_delay: "fixed",
      },
    },
    prepare: async (repo) => {
      await cp(join(repo, "iris", "2"), join(repo, HOLD, "2"), { recursive: true });
      const hold = {
        max_batch_size: 32,
        max_queue_delay_us: HOLD_MS * 1000,
        queue_delay: "fixed",
        max_queue_size: 2,
      };
      await writeFile(join(repo, HOLD, "model.json"), JSON.stringify(hold));
      await cp(join(repo, "iris", "2"), join(repo, MATES, "2"), { recursive: true });
      const mates = { max_batch_size: 9, max_queue_delay_us: 5_000_000, queue_delay: "fixed" };
      await writeFile(join(repo, MATES, "model.json"), JSON.stringify(mates));
      await cp(join(repo, "iris", "2"), join(repo, ADAPTIVE, "2"), { recursive: true });
      const adaptive = { max_batch_size: 32, max_queue_delay_us: 5_000_000 };
      await writeFile(join(repo, ADAPTIVE, "model.json"), JSON.stringify(adaptive));
      await cp(join(repo, "iris", "2"), join(repo, BIG, "2"), { recursive: true });
      const big = { max_batch_size: 64, max_queue_delay_us: 1000 };
      await writeFile(join(repo, BIG, "model.json"), JSON.stringify(big));
    },
  });
  client = grpcClient(inferd.port);
});
afterAll(async () => {
  client?.close();
  await inferd?.close();
});

const runs = (m: Scrape, model: string) =>
  m.total("inferd_inference_batch_size_count", { model, version: "2" });
const rowsRun = (m: Scrape, model: string) =>
  m.total("inferd_inference_batch_size_sum", { model, version: "2" });
const holdRejected = async (kind: string) =>
  (await scrapeMetrics(inferd.baseUrl)).total("inferd_inference_rejected_total", {
    model: HOLD,
    kind,
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A full batch (32 rows) runs at once: proves iris_hold computes and its row count moves. */
async function expectHoldComputes(): Promise<void> {
  const before = rowsRun(await scrapeMetrics(inferd.baseUrl), HOLD);
  const rows = distinctIrisRows(32, 900);
  expectOwnRows(await grpcPredict(client, { model: HOLD, inputs: irisInputs(rows) }), rows);
  expect(rowsRun(await scrapeMetrics(inferd.baseUrl), HOLD) - before).toBe(32);
}

function expectOwnRows(res: PredictResponse, rows: number[][]): void {
  expect(res.outputs.probabilities?.shape).toEqual([rows.length, 3]);
  const got = res.outputs.probabilities?.floatData ?? [];
  expect(maxAbsDiff(got, irisExpected(2, rows).probabilities)).toBeLessThan(1e-6);
}

describe("dynamic batching through the production server", () => {
  it("runs 64 concurrent Predicts of 1-3 distinct rows in a few batches, each caller getting its own rows", async () => {
    const before = await scrapeMetrics(inferd.baseUrl);
    const requests = Array.from({ length: 64 }, (_, i) => distinctIrisRows(1 + (i % 3), i * 3));
    const responses = await Promise.all(
      requests.map((rows) => grpcPredict(client, { model: "iris", inputs: irisInputs(rows) })),
    );
    responses.forEach((res, i) => {
      expectOwnRows(res, requests[i] ?? []);
    });
    const after = await scrapeMetrics(inferd.baseUrl);
    const rows = requests.reduce((n, r) => n + r.length, 0);
    expect(rows).toBe(127);
    expect(rowsRun(after, "iris") - rowsRun(before, "iris")).toBe(rows);
    const batches = runs(after, "iris") - runs(before, "iris");
    // 127 rows need at least 4 runs of <= 32; unbatched they would take 64.
    expect(batches).toBeGreaterThanOrEqual(4);
    expect(batches).toBeLessThanOrEqual(12);
  });

  it("answers a lone request at once by default (adaptive), not after max_queue_delay_us", async () => {
    const before = await scrapeMetrics(inferd.baseUrl);
    const rows = distinctIrisRows(1, 700);
    const sent = Date.now();
    expectOwnRows(await grpcPredict(client, { model: ADAPTIVE, inputs: irisInputs(rows) }), rows);
    // Far below the 5 s delay a fixed queue delay would hold it for.
    expect(Date.now() - sent).toBeLessThan(2000);
    const after = await scrapeMetrics(inferd.baseUrl);
    expect(runs(after, ADAPTIVE) - runs(before, ADAPTIVE)).toBe(1);
  });

  it("fails a bad request alone; its concurrent batch-mates get their values", async () => {
    const before = await scrapeMetrics(inferd.baseUrl);
    const requests = Array.from({ length: 10 }, (_, i) => distinctIrisRows(1, 500 + i));
    const outcomes = await Promise.allSettled(
      requests.map((rows, i) =>
        grpcPredict(client, {
          model: MATES,
          inputs:
            i === 5 ? { features: { shape: [1, 3], floatData: [1, 2, 3] } } : irisInputs(rows),
        }),
      ),
    );
    outcomes.forEach((o, i) => {
      if (i === 5) {
        expect(o.status).toBe("rejected");
        const error = o.status === "rejected" ? (o.reason as grpc.ServiceError) : undefined;
        expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(error?.details).toContain('input "features"');
      } else {
        expect(o.status).toBe("fulfilled");
        if (o.status === "fulfilled") expectOwnRows(o.value, requests[i] ?? []);
      }
    });
    const after = await scrapeMetrics(inferd.baseUrl);
    // The 9 good ones filled one batch of 9 together; the bad one never joined it.
    expect(rowsRun(after, MATES) - rowsRun(before, MATES)).toBe(9);
    expect(runs(after, MATES) - runs(before, MATES)).toBe(1);
  });

  it("feeds a BatchPredict larger than the default max_queue_size in windows: every item answered", async () => {
    const inference = createClient(
      InferenceService,
      createConnectTransport({ baseUrl: inferd.baseUrl, httpVersion: "1.1" }),
    );
    const rows = distinctIrisRows(1300, 2000);
    const { results } = await inference.batchPredict({
      requests: rows.map((row, i) => ({
        model: BIG,
        requestId: `item-${i}`,
        inputs: irisInputs([row]),
      })),
    });
    expect(results.map((r) => r.requestId)).toEqual(rows.map((_, i) => `item-${i}`));
    const failed = results.filter((r) => r.result.case !== "response");
    expect(failed).toEqual([]);
    for (const [i, r] of results.entries()) {
      if (r.result.case === "response") expectOwnRows(r.result.value, [rows[i] ?? []]);
    }
  });

  it("refuses requests beyond max_queue_size at once with ResourceExhausted", async () => {
    const finished: string[] = [];
    const calls = Array.from({ length: 10 }, (_, i) =>
      grpcPredict(client, { model: HOLD, inputs: irisInputs(distinctIrisRows(1, i)) }).then(
        (res) => {
          finished.push("ok");
          return res;
        },
        (error: grpc.ServiceError) => {
          finished.push("refused");
          return error;
        },
      ),
    );
    const outcomes = await Promise.all(calls);
    const refused = outcomes.filter((o): o is grpc.ServiceError => o instanceof Error);
    expect(refused).toHaveLength(8);
    for (const e of refused) {
      expect(e.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(e.code).toBe(8);
      expect(e.details).toContain("max_queue_size 2");
    }
    // Refused without waiting: all 8 answers came before the 2 queued ones ran.
    expect(finished).toEqual([...Array(8).fill("refused"), "ok", "ok"]);
    expect(await holdRejected("resource_exhausted")).toBe(8);
  });

  it("fails a queued request whose deadline passes DeadlineExceeded, without computing it", async () => {
    const before = await scrapeMetrics(inferd.baseUrl);
    const dropped = async () =>
      (await holdRejected("deadline_exceeded")) + (await holdRejected("canceled"));
    const droppedBefore = await dropped();
    const sent = Date.now();
    // Clients with a deadline: whichever side notices it first, the call ends DeadlineExceeded.
    const grpcError = await grpcPredict(
      client,
      { model: HOLD, inputs: irisInputs(distinctIrisRows(1, 40)) },
      { deadline: Date.now() + 200 },
    ).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(grpcError?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    const connect = createClient(
      InferenceService,
      createConnectTransport({ baseUrl: inferd.baseUrl, httpVersion: "1.1" }),
    );
    const connectError = await connect
      .predict({ model: HOLD, inputs: irisInputs(distinctIrisRows(1, 41)) }, { timeoutMs: 200 })
      .then(() => undefined, ConnectError.from);
    expect(connectError?.code).toBe(Code.DeadlineExceeded);
    // The server took both out of its queue, whether its deadline or the client's cancel came first.
    await expect.poll(dropped, { timeout: 5000 }).toBe(droppedBefore + 2);

    // A client that does not give up (a bare header): the server's own deadline ends the call.
    const expiredBefore = await holdRejected("deadline_exceeded");
    const res = await fetch(`${inferd.baseUrl}/inferd.v1.InferenceService/Predict`, {
      method: "POST",
      headers: { "content-type": "application/json", "connect-timeout-ms": "200" },
      body: JSON.stringify({ model: HOLD, inputs: irisInputs(distinctIrisRows(1, 42)) }),
    });
    expect(res.status).toBe(504);
    expect(((await res.json()) as { code: string }).code).toBe("deadline_exceeded");
    expect(await holdRejected("deadline_exceeded")).toBe(expiredBefore + 1);

    // Past the moment the queue would have run them: none of the three was computed.
    await sleep(Math.max(0, sent + HOLD_MS + 400 - Date.now()));
    const after = await scrapeMetrics(inferd.baseUrl);
    expect(rowsRun(after, HOLD)).toBe(rowsRun(before, HOLD));
    expect(after.total("inferd_inference_queue_depth", { model: HOLD })).toBe(0);
    await expectHoldComputes();
  });

  it("does not compute a queued request whose client cancelled it", async () => {
    const before = await scrapeMetrics(inferd.baseUrl);
    // Earlier tests' deadline calls may also have ended as cancels: count from here.
    const canceledBefore = await holdRejected("canceled");
    const sent = Date.now();
    const connect = createClient(
      InferenceService,
      createConnectTransport({ baseUrl: inferd.baseUrl, httpVersion: "1.1" }),
    );
    const controller = new AbortController();
    const call = connect
      .predict(
        { model: HOLD, inputs: irisInputs(distinctIrisRows(1, 50)) },
        { signal: controller.signal },
      )
      .then(() => undefined, ConnectError.from);
    await expect
      .poll(async () =>
        (await scrapeMetrics(inferd.baseUrl)).total("inferd_inference_queue_depth", {
          model: HOLD,
        }),
      )
      .toBe(1);
    controller.abort();
    expect((await call)?.code).toBe(Code.Canceled);
    await expect.poll(() => holdRejected("canceled"), { timeout: 5000 }).toBe(canceledBefore + 1);
    await sleep(Math.max(0, sent + HOLD_MS + 400 - Date.now()));
    const after = await scrapeMetrics(inferd.baseUrl);
    expect(rowsRun(after, HOLD)).toBe(rowsRun(before, HOLD));
    expect(after.total("inferd_inference_queue_depth", { model: HOLD })).toBe(0);
    await expectHoldComputes();
  });
});
