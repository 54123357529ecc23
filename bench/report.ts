import { writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import type { BenchFamily, BenchModel } from "./bench-repository.js";
import type { InProcessLimit } from "./in-process-limit.js";
import type { LoadResult } from "./load-run.js";
import type { ServerView } from "./server-metrics.js";

/** Which closed-loop client drove a run. */
export type LoadGenerator = "grpc-js" | "h2load";

/** One load run: which model at which concurrency, what the generator and the server measured. */
export interface BenchRow {
  readonly loadgen: LoadGenerator;
  readonly model: BenchModel;
  readonly concurrency: number;
  readonly result: LoadResult;
  readonly server: ServerView;
}

/** One run against the no-op server. */
export interface FloorRow {
  /** Which path served the no-op: connect-node's adapter, or inferd's gRPC unary path. */
  readonly path: "connect-node" | "inferd unary path";
  readonly loadgen: LoadGenerator;
  readonly concurrency: number;
  readonly result: LoadResult;
}

/** A target of issues #2/#3, evaluated on this run's figures. */
export interface TargetCheck {
  readonly name: string;
  readonly measured: string;
  readonly pass: boolean;
}

const f = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits }) : "-";

/** The load runs as a Markdown table, one line per model and concurrency. */
export function formatLoadTable(rows: readonly BenchRow[]): string {
  const lines = [
    "| load gen | model | batching | concurrency | calls/s | rows/s | p50 ms | p99 ms | errors | mean batch | run ms | queue ms |",
    "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const { loadgen, model, concurrency, result: r, server: s } of rows) {
    const batching = model.batching
      ? `on (${model.maxBatchSize}, ${model.maxQueueDelayUs} µs)`
      : "off";
    lines.push(
      `| ${loadgen} | ${model.family} | ${batching} | ${concurrency} | ${f(r.callsPerSecond)} | ${f(r.rowsPerSecond)} | ${f(r.p50Ms, 2)} | ${f(r.p99Ms, 2)} | ${r.errors + s.failed} | ${f(s.meanBatchSize, 1)} | ${f(s.meanComputeMs, 2)} | ${f(s.meanQueueMs, 2)} |`,
    );
  }
  return lines.join("\n");
}

/** The transport floor as a Markdown table. */
export function formatFloorTable(rows: readonly FloorRow[]): string {
  const lines = [
    "| path | load gen | concurrency | calls/s | p50 ms | p99 ms | errors |",
    "|---|---|---:|---:|---:|---:|---:|",
  ];
  for (const { path, loadgen, concurrency, result: r } of rows) {
    lines.push(
      `| ${path} | ${loadgen} | ${concurrency} | ${f(r.callsPerSecond)} | ${f(r.p50Ms, 2)} | ${f(r.p99Ms, 2)} | ${r.errors} |`,
    );
  }
  return lines.join("\n");
}

/** The in-process limits as a Markdown table. */
export function formatLimitTable(
  limits: Readonly<Partial<Record<BenchFamily, InProcessLimit>>>,
): string {
  const lines = [
    "| model | single-row calls/s | single run ms | batch-64 rows/s | batch-64 run ms |",
    "|---|---:|---:|---:|---:|",
  ];
  for (const [family, l] of Object.entries(limits)) {
    lines.push(
      `| ${family} | ${f(l.singleCallsPerSecond)} | ${f(l.singleRunMs, 3)} | ${f(l.batchRowsPerSecond)} | ${f(l.batchRunMs, 3)} |`,
    );
  }
  return lines.join("\n");
}

/** Rows/s with batching on over off, per family and concurrency. */
export function formatGainTable(rows: readonly BenchRow[]): string {
  const lines = ["| load gen | model | concurrency | on/off rows/s |", "|---|---|---:|---:|"];
  for (const on of rows.filter((r) => r.model.batching)) {
    const off = find(rows, on.loadgen, on.model.family, false, on.concurrency);
    const gain = off ? on.result.rowsPerSecond / off.result.rowsPerSecond : Number.NaN;
    lines.push(`| ${on.loadgen} | ${on.model.family} | ${on.concurrency} | ${f(gain, 2)}x |`);
  }
  return lines.join("\n");
}

/**
 * The issues' targets at concurrency 64 with batching on: (a)/(b) rows/s >= 80% of the
 * batch-64 in-process limit, (c) p99 <= 2 x (queue delay + one batch-64 run), (d) the
 * classifier's calls/s >= 60% of the single-call in-process limit.
 */
export function checkTargets(
  loadgen: LoadGenerator,
  rows: readonly BenchRow[],
  limits: Readonly<Record<BenchFamily, InProcessLimit>>,
): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const [tag, family] of [
    ["a", "classifier"],
    ["b", "heavy"],
  ] as const) {
    const row = find(rows, loadgen, family, true, 64);
    if (row === undefined) continue;
    const ratio = row.result.rowsPerSecond / limits[family].batchRowsPerSecond;
    checks.push({
      name: `${loadgen}: (${tag}) ${family} c=64 batching on, rows/s >= 80% of batch-64 limit`,
      measured: `${f(row.result.rowsPerSecond)} / ${f(limits[family].batchRowsPerSecond)} = ${f(ratio * 100, 1)}%`,
      pass: ratio >= 0.8,
    });
  }
  for (const family of ["classifier", "heavy"] as const) {
    const row = find(rows, loadgen, family, true, 64);
    if (row === undefined) continue;
    const bound = 2 * (row.model.maxQueueDelayUs / 1000 + limits[family].batchRunMs);
    const p99 = row.result.p99Ms;
    checks.push({
      name: `${loadgen}: (c) ${family} c=64 batching on, p99 <= 2 x (queue delay + batch-64 run)`,
      measured: `${f(p99, 2)} ms vs ${f(bound, 2)} ms`,
      pass: p99 <= bound,
    });
  }
  const row = find(rows, loadgen, "classifier", true, 64);
  if (row === undefined) return checks;
  const ratio = row.result.callsPerSecond / limits.classifier.singleCallsPerSecond;
  checks.push({
    name: `${loadgen}: (d) classifier c=64 batching on, calls/s >= 60% of single-call limit`,
    measured: `${f(row.result.callsPerSecond)} / ${f(limits.classifier.singleCallsPerSecond)} = ${f(ratio * 100, 1)}%`,
    pass: ratio >= 0.6,
  });
  return checks;
}

/** Targets as a Markdown table with PASS/MISS. */
export function formatTargets(checks: readonly TargetCheck[]): string {
  const lines = ["| target | measured | result |", "|---|---|---|"];
  for (const c of checks) lines.push(`| ${c.name} | ${c.measured} | ${c.pass ? "PASS" : "MISS"} |`);
  return lines.join("\n");
}

function find(
  rows: readonly BenchRow[],
  loadgen: LoadGenerator,
  family: BenchFamily,
  batching: boolean,
  concurrency: number,
): BenchRow | undefined {
  return rows.find(
    (r) =>
      r.loadgen === loadgen &&
      r.model.family === family &&
      r.model.batching === batching &&
      r.concurrency === concurrency,
  );
}

/**
 * Prints a bench's report: its date, machine and load line, the in-process limits,
 * then `sections`, then the targets; and writes `data` as JSON when `json` names a file.
 */
export async function printReport(report: {
  readonly loads: string;
  readonly started: number;
  readonly limits: Partial<Record<BenchFamily, InProcessLimit>>;
  readonly sections: readonly string[];
  readonly targets: { readonly title: string; readonly checks: readonly TargetCheck[] };
  readonly json: string | undefined;
  readonly data: unknown;
}): Promise<void> {
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}, load average (1 min) at start/end: ${report.loads}`;
  const seconds = Math.round((Date.now() - report.started) / 1000);
  const out = [
    `Date: ${new Date().toISOString()}; machine: ${machine}; whole run ${seconds} s.`,
    "",
    "In-process limit (onnxruntime-node `session.run` in the bench process, ORT default options):",
    "",
    formatLimitTable(report.limits),
    ...report.sections,
    "",
    report.targets.title,
    "",
    formatTargets(report.targets.checks),
  ].join("\n");
  process.stdout.write(`${out}\n`);
  if (report.json) await writeFile(report.json, JSON.stringify(report.data, null, 2));
}
