import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { resolveServerConfig } from "../../src/config/resolve-server-config.js";
import { startWorker } from "../../src/runtime/start-worker.js";
import type { BigRequestPlan, BigRequestResult } from "../helpers/big-request-worker.js";
import { watchLoopBlocks } from "../helpers/loop-block-cpu.js";
import { prioritizeMainThread } from "../helpers/prioritize-main-thread.js";
import type { ProbeResult } from "../helpers/probe-worker.js";
import { useInferd } from "../helpers/use-inferd.js";

const DEFAULTS = resolveServerConfig({}, {});
/**
 * Bounds with a margin for a loaded 2-core CI machine (the issue asks 50 ms; here the
 * loop's longest block is 10-30 ms alone, up to ~100 ms beside other test files at a load of 13), still
 * far below the old code's: 20,000 items held the loop 0.8 s, and the largest message
 * accepted then (16 MiB, ~360,000 items) 3-4 s. The probes run in an unprioritized
 * worker, so their bound is wider again.
 */
const LOOP_BOUND_MS = 150;
const PROBE_BOUND_MS = 300;
/**
 * The issue's 50 ms, held by the loop's longest block in the main thread's own CPU time
 * (`watchLoopBlocks`), which a loaded machine does not inflate: measured 13-17 ms for the
 * 16 MiB JSON Predict beside the largest BatchPredict, at loads of 0.3 and 22 alike,
 * while the wall-clock delay at a load of 22 was 150-700 ms (the thread got a fifth of
 * a core: a 60 ms CPU block showed as 530 ms of delay). Wall-clock bounds stay above.
 */
const LOOP_CPU_BOUND_MS = 50;
/**
 * Wall-clock bounds of the JSON Predict's test, a guard against the old code's 4-5 s
 * blocks only: at a load of 16-22 its loop delay measured 300-700 ms (probes p99
 * 166-264 ms) while its longest block held 13-17 ms of CPU; the CPU bound is the check.
 */
const JSON_WALL_BOUND_MS = 1000;

const inferd = useInferd();

function nextMessage(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
}

/** Starts a helper worker thread; resolves once it says "ready". */
async function startHelper(file: string, workerData: unknown): Promise<Worker> {
  const worker = startWorker(new URL(`../helpers/${file}`, import.meta.url), { workerData });
  expect(await nextMessage(worker)).toBe("ready");
  return worker;
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
}

const ms = (ns: number) => (ns / 1e6).toFixed(1);

interface Measure {
  readonly result: BigRequestResult;
  readonly probes: ProbeResult;
  /** The event loop's longest delay while the requests ran, ms. */
  readonly maxLoopMs: number;
  /** The loop's longest block in main-thread CPU time, ms (NaN off Linux). */
  readonly longestCpuMs: number;
}

/** Sends the plan's requests while probing, and measures the server's event loop meanwhile. */
async function measure(plan: BigRequestPlan): Promise<Measure> {
  const big = await startHelper("big-request-worker.ts", plan);
  const prober = await startHelper("probe-worker.ts", { port: inferd.port });
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  const restorePriority = prioritizeMainThread();
  histogram.enable();
  const stopWatching = watchLoopBlocks();
  prober.postMessage("start");
  const started = performance.now();
  const done = nextMessage(big);
  big.postMessage("start");
  const result = (await done) as BigRequestResult;
  const elapsed = performance.now() - started;
  const probed = nextMessage(prober);
  prober.postMessage("stop");
  const probes = (await probed) as ProbeResult;
  histogram.disable();
  const { longestCpuMs } = stopWatching();
  restorePriority();
  await Promise.all([big.terminate(), prober.terminate()]);
  console.info(
    `big requests (${result.batchBytes} B BatchPredict, ${result.jsonBytes} B JSON) in ${elapsed.toFixed(0)} ms: ${result.outcomes.map((o) => o.slice(0, 100)).join(" | ")}\n` +
      `event loop delay p99 ${ms(histogram.percentile(99))} ms, max ${ms(histogram.max)} ms, ` +
      `longest block ${longestCpuMs.toFixed(1)} ms of CPU; ` +
      `/healthz p99 ${p99(probes.healthMs).toFixed(1)} ms (${probes.healthMs.length}); ` +
      `small Predict p99 ${p99(probes.predictMs).toFixed(1)} ms (${probes.predictMs.length}); ` +
      `errors ${probes.errors.slice(0, 3).join("; ")}`,
  );
  return { result, probes, maxLoopMs: histogram.max / 1e6, longestCpuMs };
}

function expectNoStall(
  { probes, maxLoopMs, longestCpuMs }: Measure,
  loopBoundMs = LOOP_BOUND_MS,
  probeBoundMs = PROBE_BOUND_MS,
): void {
  expect(probes.errors).toEqual([]);
  if (!Number.isNaN(longestCpuMs)) expect(longestCpuMs).toBeLessThan(LOOP_CPU_BOUND_MS);
  expect(maxLoopMs).toBeLessThan(loopBoundMs);
  expect(p99(probes.healthMs)).toBeLessThan(probeBoundMs);
  expect(p99(probes.predictMs)).toBeLessThan(probeBoundMs);
}

/** Rows of a JSON Predict on iris that fill 15.9 of the 16 MiB (16 bytes each). */
const JSON_FILLING_ROWS = 1_040_000;

/** Items of one-row iris BatchPredict items that fill 15.8 of the 16 MiB (46 bytes each on the wire). */
const WIRE_FILLING_ITEMS = 360_000;

describe("the largest accepted requests", () => {
  // Other tenants of this shared machine can starve the whole process for a spell, which
  // the loop's delay shows too: one more try tells that from blocking, which the old
  // code (a 16 MiB BatchPredict of ~360,000 items decoded and encoded in one piece,
  // 0.8-4 s) shows in every try. BIG_BATCH / BIG_JSON (items / JSON Predict rows) measure
  // other sizes (the JSON Predict, off here by default, is the last test's).
  it("do not stall /healthz, a small Predict or the event loop", {
    retry: 2,
    timeout: 20_000,
  }, async () => {
    const measured = await measure({
      port: inferd.port,
      batchItems: Number(process.env.BIG_BATCH ?? DEFAULTS.maxBatchPredictItems),
      jsonRows: Number(process.env.BIG_JSON ?? 0),
    });
    expect(measured.result.outcomes).toEqual(["grpc 0"]);
    expectNoStall(measured);
  });

  // The old code decoded all of a 16 MiB BatchPredict before counting its items (~3 s).
  it("refuse a 16 MiB BatchPredict over the item limit without stalling", {
    retry: 2,
    timeout: 20_000,
  }, async () => {
    const measured = await measure({
      port: inferd.port,
      batchItems: WIRE_FILLING_ITEMS,
      jsonRows: 0,
    });
    expect(measured.result.batchBytes).toBeGreaterThan(15 * 2 ** 20);
    expect(measured.result.batchBytes).toBeLessThanOrEqual(DEFAULTS.maxRequestBytes);
    expect(measured.result.outcomes).toEqual([
      expect.stringMatching(
        /^grpc 3 BatchPredict carries 360000 items, more than this server's limit of 256/,
      ),
    ]);
    expectNoStall(measured);
  });

  // The old code parsed a 16 MiB JSON body on the loop (JSON.parse and fromJson, 1-3 s),
  // then ran the million rows inline (~0.1 s), classified them (~0.15 s), built the
  // response (~0.4 s) and encoded ~130 MB of JSON (~1.6 s) on it, with seconds of GC:
  // the loop's longest block was 4-5 s. The largest accepted BatchPredict runs beside it,
  // as the issue asks. BIG_JSON_MODEL names another model (an unknown one measures the
  // decode alone). Its loop bound is the probes': what is left on the loop is the
  // collection of the call's ~170 MB of buffers (body, outputs, their copies, the answer),
  // whose incremental marking steps took 20-50 ms alone and 190-235 ms at a load of 12.
  // One retry only: one try takes 6-15 s, and 25-30 s at a load of 22 (where 30 s timed out).
  it("answer a 16 MiB JSON Predict on iris and the largest BatchPredict without stalling", {
    retry: 1,
    timeout: 60_000,
  }, async () => {
    const jsonModel = process.env.BIG_JSON_MODEL ?? "iris";
    const measured = await measure({
      port: inferd.port,
      batchItems: DEFAULTS.maxBatchPredictItems,
      jsonRows: JSON_FILLING_ROWS,
      jsonModel,
    });
    expect(measured.result.jsonBytes).toBeGreaterThan(15.5 * 2 ** 20);
    expect(measured.result.jsonBytes).toBeLessThanOrEqual(DEFAULTS.maxRequestBytes);
    expect(measured.result.outcomes).toEqual([
      "grpc 0",
      jsonModel === "iris"
        ? expect.stringMatching(/^json 200 1[0-9]{8} B \{"model":"iris","version":2,"outputs":/)
        : expect.stringMatching(/^json 404 /),
    ]);
    expectNoStall(measured, JSON_WALL_BOUND_MS, JSON_WALL_BOUND_MS);
  });
});
