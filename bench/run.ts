/**
 * `npm run bench`: unary Predict over gRPC against one `inferd` child process, the
 * load generator in another process, and the in-process `session.run` limits measured
 * in this process, all in one run. Prints Markdown tables (paste into bench/RESULTS.md)
 * and PASS/MISS per target of issues #2 and #3.
 *
 *   npm run bench -- [--duration-ms 3000] [--concurrency 1,8,64,256] [--only classifier]
 *     [--classifier-delay-us 500] [--heavy-delay-us 2000] [--instance-count 1]
 *     [--channels 4] [--cpu-prof DIR] [--json FILE]
 */
import { writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { type BenchFamily, createBenchRepository } from "./bench-repository.js";
import { type InProcessLimit, measureInProcessLimit } from "./in-process-limit.js";
import { runLoad } from "./load-run.js";
import {
  type BenchRow,
  checkTargets,
  formatGainTable,
  formatLimitTable,
  formatLoadTable,
  formatTargets,
} from "./report.js";
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
    channels: { type: "string", default: "4" },
    "cpu-prof": { type: "string" },
    json: { type: "string" },
  },
});

const num = (name: keyof typeof values): number => Number(values[name]);
const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  const repo = await createBenchRepository({
    maxBatchSize: num("max-batch-size"),
    classifierDelayUs: num("classifier-delay-us"),
    heavyDelayUs: num("heavy-delay-us"),
    instanceCount: num("instance-count"),
  });
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
  const profDir = values["cpu-prof"];
  const server = await startServerProcess({
    modelRepository: repo.dir,
    ...(profDir !== undefined && { nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${profDir}`] }),
  });
  const rows: BenchRow[] = [];
  const loadBefore = loadavg()[0] ?? 0;
  try {
    for (const model of models) {
      for (const concurrency of values.concurrency.split(",").map(Number)) {
        const result = await runLoad({
          target: `127.0.0.1:${server.port}`,
          model,
          concurrency,
          durationMs: num("duration-ms"),
          warmupMs: num("warmup-ms"),
          channels: Math.min(concurrency, num("channels")),
        });
        log(`${model.name} c=${concurrency}: ${JSON.stringify(result)}`);
        rows.push({ model, concurrency, result });
      }
    }
  } finally {
    await server.stop();
    await repo.remove();
  }
  const checks = checkTargets(rows, limits);
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}, load average before/after: ${loadBefore.toFixed(2)}/${(loadavg()[0] ?? 0).toFixed(2)}`;
  const out = [
    `Date: ${new Date().toISOString()}; machine: ${machine}; whole run ${Math.round((Date.now() - started) / 1000)} s.`,
    "",
    "In-process limit (onnxruntime-node `session.run` in the bench process, ORT default options):",
    "",
    formatLimitTable(limits),
    "",
    "Unary Predict over gRPC (grpc-js load generator, separate process, 1 row per request):",
    "",
    formatLoadTable(rows),
    "",
    "Gain of batching:",
    "",
    formatGainTable(rows),
    "",
    "Targets:",
    "",
    formatTargets(checks),
  ].join("\n");
  process.stdout.write(`${out}\n`);
  if (values.json) await writeFile(values.json, JSON.stringify({ limits, rows, checks }, null, 2));
}

await main();
