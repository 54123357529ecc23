import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InferenceService, type PredictResponse } from "../../gen/inferd/v1/inference_pb.js";
import { grpcClient, grpcPredict } from "../helpers/inferd-grpc.js";
import {
  distinctIrisRows,
  irisExpected,
  irisInputs,
  maxAbsDiff,
} from "../helpers/iris-reference.js";
import { copyVersion, removeVersion } from "../helpers/model-folders.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

let inferd: RunningInferd;
const grpcClients: grpc.Client[] = [];

beforeAll(async () => {
  // The fixture's iris: versions 1 and 2, policy latest 2, newest routing.
  inferd = await startInferd({
    models: ["iris"],
    config: { modelControlMode: "poll", pollInterval: 0.1 },
  });
});
afterAll(async () => {
  for (const c of grpcClients) c.close();
  await inferd?.close();
});

/** Weights behind each version: 3 is a copy of 1. */
const WEIGHTS: Record<number, number> = { 1: 1, 2: 2, 3: 1 };

interface ClientLog {
  versions: number[];
  failures: unknown[];
}

/** One closed-loop client: Predict, check the values for the version that answered, repeat. */
async function loop(
  predict: (rows: number[][]) => Promise<PredictResponse>,
  id: number,
  stop: { now: boolean },
  log: ClientLog,
): Promise<void> {
  for (let n = 0; !stop.now; n++) {
    const rows = distinctIrisRows(1 + (n % 3), id * 100 + (n % 50));
    try {
      const res = await predict(rows);
      const expected = irisExpected(WEIGHTS[res.version] ?? 0, rows).probabilities;
      const got = res.outputs.probabilities?.floatData ?? [];
      if (maxAbsDiff(got, expected) > 1e-6) throw new Error(`wrong values from v${res.version}`);
      log.versions.push(res.version);
    } catch (error) {
      log.failures.push(error);
    }
  }
}

/** Starts 8 clients (Connect and grpc-js alternately); their logs fill in as they go. */
async function startClients(stop: { now: boolean }, logs: ClientLog[]): Promise<void> {
  const connect = createClient(
    InferenceService,
    createConnectTransport({ baseUrl: inferd.baseUrl, httpVersion: "1.1" }),
  );
  await Promise.all(
    Array.from({ length: 8 }, (_, id) => {
      const log: ClientLog = { versions: [], failures: [] };
      logs.push(log);
      if (id % 2 === 0) {
        return loop(
          (rows) => connect.predict({ model: "iris", inputs: irisInputs(rows) }),
          id,
          stop,
          log,
        );
      }
      const client = grpcClient(inferd.port);
      grpcClients.push(client);
      return loop(
        (rows) => grpcPredict(client, { model: "iris", inputs: irisInputs(rows) }),
        id,
        stop,
        log,
      );
    }),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const readyVersions = () =>
  inferd.app.registry
    .get("iris")
    .versions.filter((v) => v.state === "ready")
    .map((v) => v.version);

describe("hot swap under continuous traffic", () => {
  it("adds version 3 and removes version 2 while 8 clients loop: no failure, answers move to 3", async () => {
    const stop = { now: false };
    const logs: ClientLog[] = [];
    const clients = startClients(stop, logs);
    // Every client is served by version 2 before the swap starts.
    await expect
      .poll(() => logs.every((l) => l.versions.length >= 3), { timeout: 10_000 })
      .toBe(true);
    await copyVersion(inferd.repo, "iris", 1, 3);
    await expect.poll(readyVersions, { timeout: 20_000 }).toEqual([2, 3]);
    await sleep(500);
    await removeVersion(inferd.repo, "iris", 2);
    // latest 2 of the folders {1, 3}: version 1 comes back, 2 drains away.
    await expect.poll(readyVersions, { timeout: 20_000 }).toEqual([1, 3]);
    await sleep(500);
    stop.now = true;
    await clients;

    expect(logs.flatMap((l) => l.failures)).toEqual([]);
    for (const { versions } of logs) {
      expect(versions.length).toBeGreaterThan(5);
      // Sequential clients: once one got version 3, every later answer is 3.
      const first3 = versions.indexOf(3);
      expect(first3).toBeGreaterThan(0);
      expect(new Set(versions.slice(0, first3))).toEqual(new Set([2]));
      expect(new Set(versions.slice(first3))).toEqual(new Set([3]));
    }
  });
});
