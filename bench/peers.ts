import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { type BenchFamily, createBenchRepository } from "./bench-repository.js";
import { startIdleLoop } from "./idle-loop-floor.js";
import { type InProcessLimit, measureInProcessLimit } from "./in-process-limit.js";
import { checkPeerTargets, formatPeerTable } from "./peers-report.js";
import {
  type PeerGroup,
  type PeerRow,
  type PeerRunSettings,
  type PeerTarget,
  runPeerScenario,
} from "./peers-scenarios.js";
import { planGroup } from "./peers-servers.js";
import { printReport } from "./report.js";
import { startServerProcess } from "./server-process.js";
import { formatThreads } from "./thread-sched.js";

const { values } = parseArgs({
  options: {
    "duration-ms": { type: "string", default: "3000" },
    "warmup-ms": { type: "string", default: "700" },
    "prime-ms": { type: "string", default: "1500" },
    "limit-ms": { type: "string", default: "2000" },
    only: { type: "string", default: "grpc,http1,heavy" },
    concurrency: { type: "string", default: "1,64" },
    channels: { type: "string", default: "4" },
    "max-batch-size": { type: "string", default: "64" },
    "small-delay-us": { type: "string", default: "500" },
    "heavy-delay-us": { type: "string", default: "2000" },
    json: { type: "string" },
  },
});

const num = (name: keyof typeof values): number => Number(values[name]);
const log = (line: string) => process.stderr.write(`${line}\n`);
const load = () => (loadavg()[0] ?? 0).toFixed(2);
const TITLES: Record<PeerGroup, string> = {
  grpc: "mlp_small over gRPC (h2load, 4 connections), inferd (Predict, and Open Inference ModelInfer with raw contents) vs the naive grpc-js server and inferd's no-op Predict (lean gRPC path):",
  http1:
    "mlp_small over HTTP/1.1 (h2load --h1, one connection per concurrent call), inferd's Connect JSON and gRPC-Web binary (batching on) vs the naive node:http JSON server:",
  heavy: "mlp_heavy over gRPC (h2load, 4 connections), inferd vs the naive grpc-js server:",
};

async function main(): Promise<void> {
  const started = Date.now();
  const loadStart = load();
  const repo = await createBenchRepository({
    maxBatchSize: num("max-batch-size"),
    classifierDelayUs: num("small-delay-us"),
    heavyDelayUs: num("heavy-delay-us"),
    instanceCount: 1,
    families: ["small", "heavy"],
  });
  try {
    const limits: Partial<Record<BenchFamily, InProcessLimit>> = {};
    for (const family of ["small", "heavy"] as const) {
      log(`in-process limit: ${family}`);
      const model = repo.models.find((m) => m.family === family);
      if (model === undefined) continue;
      limits[family] = await measureInProcessLimit({
        ...model,
        modelPath: repo.modelPaths[family],
        batchRows: num("max-batch-size"),
        durationMs: num("limit-ms"),
      });
    }
    const rows = await runGroups(repo);
    await report(limits, rows, `${loadStart}/${load()}`, started);
  } finally {
    await repo.remove();
  }
}

/** Every requested group against one inferd process; each group starts its own peers. */
async function runGroups(repo: Awaited<ReturnType<typeof createBenchRepository>>) {
  const inferd = await startServerProcess({ modelRepository: repo.dir });
  const idleLoop = await startIdleLoop();
  const rows: PeerRow[] = [];
  const settings = {
    durationMs: num("duration-ms"),
    warmupMs: num("warmup-ms"),
    channels: num("channels"),
    idleLoop,
    inferdPid: inferd.pid,
  };
  try {
    for (const group of values.only.split(",") as PeerGroup[]) {
      const plan = await planGroup(group, repo, inferd.port);
      try {
        await primeTargets(group, plan.targets, settings);
        for (const concurrency of plan.concurrencies(values.concurrency.split(",").map(Number))) {
          for (const target of plan.targets) {
            const row = await runPeerScenario(group, target, concurrency, settings);
            log(
              `${group} ${target.label} ${target.protocol} c=${concurrency}: ${JSON.stringify(row.result)}`,
            );
            if (row.threads) log(`  ${formatThreads(row.threads, inferd.pid)}`);
            rows.push(row);
          }
        }
      } finally {
        await plan.stop();
      }
    }
  } finally {
    idleLoop.stop();
    await inferd.stop();
  }
  return rows;
}

/**
 * Drives every target of a group once, unmeasured, at c=64 for `--prime-ms`. Why: the
 * first measured run otherwise met a process just spawned (JIT still compiling, first
 * paths of every layer), and whichever target came first paid for it: inferd's batching-on
 * row at c=1 ran 1.3-1.5x slower than batching off in two runs of session 27-28, and the
 * same rows swapped under a profiler. Each peer gets the same priming.
 */
async function primeTargets(
  group: PeerGroup,
  targets: readonly PeerTarget[],
  settings: PeerRunSettings,
): Promise<void> {
  const durationMs = num("prime-ms");
  if (durationMs <= 0) return;
  for (const target of targets) {
    await runPeerScenario(group, target, 64, { ...settings, durationMs, warmupMs: 0 });
  }
}

async function report(
  limits: Partial<Record<BenchFamily, InProcessLimit>>,
  rows: readonly PeerRow[],
  loads: string,
  started: number,
): Promise<void> {
  const checks = checkPeerTargets(rows);
  const groups = [...new Set(rows.map((r) => r.group))];
  await printReport({
    loads,
    started,
    limits,
    sections: groups.flatMap((group) => ["", TITLES[group], "", formatPeerTable(rows, group)]),
    targets: { title: "Targets (issues 14 and 15):", checks },
    json: values.json,
    data: { limits, rows, checks },
  });
}

await main();
