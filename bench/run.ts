import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import {
  type BenchFamily,
  type BenchModel,
  type BenchRepository,
  createBenchRepository,
} from "./bench-repository.js";
import { hasH2load, runH2load } from "./h2load-run.js";
import { type InProcessLimit, measureInProcessLimit } from "./in-process-limit.js";
import { type LoadRunOptions, runLoad } from "./load-run.js";
import {
  type BenchRow,
  checkTargets,
  type FloorRow,
  formatFloorTable,
  formatGainTable,
  formatLoadTable,
  type LoadGenerator,
  printReport,
} from "./report.js";
import { scrapeModelCounters, serverView } from "./server-metrics.js";
import { startServerProcess } from "./server-process.js";

const { values } = parseArgs({
  options: {
    "duration-ms": { type: "string", default: "3000" },
    "warmup-ms": { type: "string", default: "700" },
    "limit-ms": { type: "string", default: "2000" },
    concurrency: { type: "string", default: "1,8,64,256" },
    only: { type: "string" },
    "max-batch-size": { type: "string", default: "64" },
    "classifier-delay-us": { type: "string", default: "500" },
    "heavy-delay-us": { type: "string", default: "2000" },
    "instance-count": { type: "string", default: "1" },
    "intra-op-threads": { type: "string" },
    channels: { type: "string", default: "4" },
    loadgen: { type: "string" },
    "cpu-prof": { type: "string" },
    json: { type: "string" },
    "no-floor": { type: "boolean", default: false },
  },
});

const num = (name: keyof typeof values): number => Number(values[name]);
const log = (line: string) => process.stderr.write(`${line}\n`);
const LOADGENS: Record<LoadGenerator, (options: LoadRunOptions) => ReturnType<typeof runLoad>> = {
  "grpc-js": runLoad,
  h2load: runH2load,
};

async function loadGenerators(): Promise<LoadGenerator[]> {
  if (values.loadgen) return values.loadgen.split(",") as LoadGenerator[];
  return (await hasH2load()) ? ["grpc-js", "h2load"] : ["grpc-js"];
}

/** One closed-loop load run against the server on `port`, with this run's durations. */
function runScenario(
  loadgen: LoadGenerator,
  port: number,
  model: BenchModel,
  concurrency: number,
): ReturnType<typeof runLoad> {
  return LOADGENS[loadgen]({
    target: `127.0.0.1:${port}`,
    model,
    concurrency,
    durationMs: num("duration-ms"),
    warmupMs: num("warmup-ms"),
    channels: Math.min(concurrency, num("channels")),
  });
}

/** The no-op transport floor at concurrency 1 and 64, per path and load generator. */
async function measureFloor(
  loadgens: readonly LoadGenerator[],
  model: BenchModel | undefined,
): Promise<FloorRow[]> {
  if (model === undefined) return [];
  const floor: FloorRow[] = [];
  for (const path of ["connect-node", "inferd unary path"] as const) {
    floor.push(...(await measureFloorOf(path, loadgens, model)));
  }
  return floor;
}

async function measureFloorOf(
  path: FloorRow["path"],
  loadgens: readonly LoadGenerator[],
  model: BenchModel,
): Promise<FloorRow[]> {
  const server = await startServerProcess({ connectOnly: path === "connect-node" });
  const floor: FloorRow[] = [];
  try {
    for (const loadgen of loadgens) {
      for (const concurrency of [1, 64]) {
        const result = await runScenario(loadgen, server.port, model, concurrency);
        log(`${loadgen} noop (${path}) c=${concurrency}: ${JSON.stringify(result)}`);
        floor.push({ path, loadgen, concurrency, result });
      }
    }
  } finally {
    await server.stop();
  }
  return floor;
}

async function main(): Promise<void> {
  const started = Date.now();
  const repo = await createBenchRepository({
    maxBatchSize: num("max-batch-size"),
    classifierDelayUs: num("classifier-delay-us"),
    heavyDelayUs: num("heavy-delay-us"),
    instanceCount: num("instance-count"),
    ...(values["intra-op-threads"] !== undefined && {
      intraOpThreads: num("intra-op-threads"),
    }),
  });
  try {
    await benchmark(repo, started);
  } finally {
    await repo.remove();
  }
}

/** Limits, floor and every scenario against one inferd child process; prints the report. */
async function benchmark(repo: BenchRepository, started: number): Promise<void> {
  const models = repo.models.filter((m) => !values.only || m.family === values.only);
  const limits = {} as Record<BenchFamily, InProcessLimit>;
  for (const family of ["classifier", "heavy"] as const) {
    const model = repo.models.find((m) => m.family === family);
    if (!model) continue;
    log(`in-process limit: ${family}`);
    limits[family] = await measureInProcessLimit({
      modelPath: repo.modelPaths[family],
      input: model.input,
      rowWidth: model.rowWidth,
      batchRows: num("max-batch-size"),
      durationMs: num("limit-ms"),
    });
  }
  const loadgens = await loadGenerators();
  const floor = values["no-floor"] ? [] : await measureFloor(loadgens, repo.models[0]);
  const profDir = values["cpu-prof"];
  const server = await startServerProcess({
    modelRepository: repo.dir,
    ...(profDir !== undefined && { nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${profDir}`] }),
  });
  const rows: BenchRow[] = [];
  const loadBefore = loadavg()[0] ?? 0;
  try {
    for (const loadgen of loadgens) {
      for (const model of models) {
        for (const concurrency of values.concurrency.split(",").map(Number)) {
          const before = await scrapeModelCounters(server.port, model.name);
          const result = await runScenario(loadgen, server.port, model, concurrency);
          const after = await scrapeModelCounters(server.port, model.name);
          const row = { loadgen, model, concurrency, result, server: serverView(before, after) };
          log(`${loadgen} ${model.name} c=${concurrency}: ${JSON.stringify(row.result)}`);
          rows.push(row);
        }
      }
    }
  } finally {
    await server.stop();
  }
  const checks = loadgens.flatMap((loadgen) => checkTargets(loadgen, rows, limits));
  await printReport({
    loads: `${loadBefore.toFixed(2)}/${(loadavg()[0] ?? 0).toFixed(2)}`,
    started,
    limits,
    sections: [
      "",
      "Unary Predict over gRPC, load generator in a separate process, 1 row per request; errors, mean batch, run ms (per model run, worker hop included) and queue ms (per request) from the server's /metrics:",
      "",
      formatLoadTable(rows),
      "",
      "Transport floor (bench/noop-server.ts: a Predict that answers a fixed response and does nothing else, served by connect-node's adapter alone, or as inferd serves unary gRPC: its lean HTTP/2 unary path in front of the adapter):",
      "",
      formatFloorTable(floor),
      "",
      "Gain of batching:",
      "",
      formatGainTable(rows),
    ],
    targets: { title: "Targets:", checks },
    json: values.json,
    data: { limits, rows, checks },
  });
}

await main();
