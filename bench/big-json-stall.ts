/**
 * Measures the event loop of an in-process inferd while the largest accepted JSON Predict
 * (and optionally the largest BatchPredict) runs: prints every loop block over 20 ms with
 * its time since the start and the main thread's own CPU time in it (from
 * /proc/self/task/PID/schedstat): on a shared machine a long wall-clock gap with little
 * CPU is waiting for a core, not blocking. BIG_JSON rows (default 1,040,000), BIG_BATCH items (default 0).
 * Run: npx tsx --cpu-prof --cpu-prof-dir=/tmp/prof bench/big-json-stall.ts
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Worker } from "node:worker_threads";
import { startWorker } from "../src/runtime/start-worker.js";
import { mainThreadCpuMs as cpuMs } from "../test/helpers/loop-block-cpu.js";
import { prioritizeMainThread } from "../test/helpers/prioritize-main-thread.js";
import { startInferd } from "../test/helpers/start-inferd.js";

function nextMessage(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
}

const mainThreadCpuMs = (): number => cpuMs() ?? Number.NaN;

/** Runs on the main thread for `ms` of its own CPU time (not wall time: on a loaded machine that is far less CPU). */
function spin(ms: number): void {
  const until = mainThreadCpuMs() + ms;
  while (mainThreadCpuMs() < until);
}

const inferd = await startInferd();
prioritizeMainThread();
const rounds = Number(process.env.ROUNDS ?? 1);
for (let round = 0; round < rounds; round++) {
  const big = startWorker(new URL("../test/helpers/big-request-worker.ts", import.meta.url), {
    workerData: {
      port: inferd.port,
      batchItems: Number(process.env.BIG_BATCH ?? 0),
      jsonRows: Number(process.env.BIG_JSON ?? 1_040_000),
    },
  });
  await nextMessage(big);
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  const blocks: string[] = [];
  const t0 = performance.now();
  let last = t0;
  let lastCpu = mainThreadCpuMs();
  let maxCpu = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    const cpu = mainThreadCpuMs();
    maxCpu = Math.max(maxCpu, cpu - lastCpu);
    if (cpu - lastCpu > 15)
      blocks.push(
        `${(last - t0).toFixed(0)}+${(now - last).toFixed(0)}(cpu ${(cpu - lastCpu).toFixed(0)})`,
      );
    last = now;
    lastCpu = cpu;
  }, 2);
  histogram.enable();
  // BUSY_MS: a known synchronous block, to check that the measure sees one.
  const busy = Number(process.env.BUSY_MS ?? 0);
  if (busy > 0) setTimeout(() => spin(busy), 50);
  const done = nextMessage(big);
  big.postMessage("start");
  const result = (await done) as { outcomes: string[] };
  clearInterval(tick);
  histogram.disable();
  console.log(
    `round ${round}: ${(performance.now() - t0).toFixed(0)} ms, longest block's CPU ${maxCpu.toFixed(1)} ms, loop max ${(histogram.max / 1e6).toFixed(1)} p99 ${(histogram.percentile(99) / 1e6).toFixed(1)}; blocks ${blocks.join(" ")}; ${result.outcomes.map((o) => o.slice(0, 60)).join(" | ")}`,
  );
  await big.terminate();
}
await inferd.close();
