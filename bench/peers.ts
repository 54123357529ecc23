/**
 * `npm run bench`: issue 14's benchmark. inferd (default flags: access log, metrics,
 * tracing as shipped) against the servers a user would write in an afternoon
 * (bench/naive-grpc-server.ts, bench/naive-http-server.ts) and against its own no-op
 * Predict (bench/noop-server.ts), on mlp_small (64→128→64→10) and mlp_heavy, every
 * scenario driven by h2load in one run. Prints Markdown tables and PASS/MISS per target.
 *
 *   npm run bench -- [--duration-ms 3000] [--warmup-ms 700] [--limit-ms 2000]
 *     [--only grpc,http1,heavy] [--concurrency 1,64] [--channels 4] [--json FILE]
 */
import { writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { type BenchFamily, createBenchRepository } from "./bench-repository.js";
import { type InProcessLimit, measureInProcessLimit } from "./in-process-limit.js";
import { checkPeerTargets, formatPeerTable } from "./peers-report.js";
import { type PeerGroup, type PeerRow, runPeerScenario } from "./peers-scenarios.js";
import { planGroup } from "./peers-servers.js";
import { formatLimitTable, formatTargets } from "./report.js";
import { startServerProcess } from "./server-process.js";

const { values } = parseArgs({
  options: {
    "duration-ms": { type: "string", default: "3000" },
    "warmup-ms": { type: "string", default: "700" },
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
  grpc: "mlp_small over gRPC (h2load, 4 connections), inferd vs the naive grpc-js server and inferd's no-op Predict (lean gRPC path):",
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
  const rows: PeerRow[] = [];
  const settings = {
    durationMs: num("duration-ms"),
    warmupMs: num("warmup-ms"),
    channels: num("channels"),
  };
  try {
    for (const group of values.only.split(",") as PeerGroup[]) {
      const plan = await planGroup(group, repo, inferd.port);
      try {
        for (const concurrency of plan.concurrencies(values.concurrency.split(",").map(Number))) {
          for (const target of plan.targets) {
            const row = await runPeerScenario(group, target, concurrency, settings);
            log(
              `${group} ${target.label} ${target.protocol} c=${concurrency}: ${JSON.stringify(row.result)}`,
            );
            rows.push(row);
          }
        }
      } finally {
        await plan.stop();
      }
    }
  } finally {
    await inferd.stop();
  }
  return rows;
}

async function report(
  limits: Partial<Record<BenchFamily, InProcessLimit>>,
  rows: readonly PeerRow[],
  loads: string,
  started: number,
): Promise<void> {
  const checks = checkPeerTargets(rows);
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}, load average (1 min) at start/end: ${loads}`;
  const groups = [...new Set(rows.map((r) => r.group))];
  const out = [
    `Date: ${new Date().toISOString()}; machine: ${machine}; whole run ${Math.round((Date.now() - started) / 1000)} s.`,
    "",
    "In-process limit (onnxruntime-node `session.run` in the bench process, ORT default options):",
    "",
    formatLimitTable(limits),
    ...groups.flatMap((group) => ["", TITLES[group], "", formatPeerTable(rows, group)]),
    "",
    "Targets (issue 14):",
    "",
    formatTargets(checks),
  ].join("\n");
  process.stdout.write(`${out}\n`);
  if (values.json) await writeFile(values.json, JSON.stringify({ limits, rows, checks }, null, 2));
}

await main();
