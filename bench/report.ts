import type { BenchFamily, BenchModel } from "./bench-repository.js";
import type { InProcessLimit } from "./in-process-limit.js";
import type { LoadResult } from "./load-run.js";

/** One load run: which model at which concurrency, and what the generator measured. */
export interface BenchRow {
  readonly model: BenchModel;
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
    "| model | batching | concurrency | calls/s | rows/s | p50 ms | p99 ms | errors |",
    "|---|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const { model, concurrency, result: r } of rows) {
    const batching = model.batching
      ? `on (${model.maxBatchSize}, ${model.maxQueueDelayUs} µs)`
      : "off";
    lines.push(
      `| ${model.family} | ${batching} | ${concurrency} | ${f(r.callsPerSecond)} | ${f(r.rowsPerSecond)} | ${f(r.p50Ms, 2)} | ${f(r.p99Ms, 2)} | ${r.errors} |`,
    );
  }
  return lines.join("\n");
}

/** The in-process limits as a Markdown table. */
export function formatLimitTable(limits: Readonly<Record<BenchFamily, InProcessLimit>>): string {
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
  const lines = ["| model | concurrency | on/off rows/s |", "|---|---:|---:|"];
  for (const on of rows.filter((r) => r.model.batching)) {
    const off = find(rows, on.model.family, false, on.concurrency);
    const gain = off ? on.result.rowsPerSecond / off.result.rowsPerSecond : Number.NaN;
    lines.push(`| ${on.model.family} | ${on.concurrency} | ${f(gain, 2)}x |`);
  }
  return lines.join("\n");
}

/**
 * The issues' targets at concurrency 64 with batching on: (a)/(b) rows/s >= 80% of the
 * batch-64 in-process limit, (c) p99 <= 2 x (queue delay + one batch-64 run), (d) the
 * classifier's calls/s >= 60% of the single-call in-process limit.
 */
export function checkTargets(
  rows: readonly BenchRow[],
  limits: Readonly<Record<BenchFamily, InProcessLimit>>,
): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const [tag, family] of [
    ["a", "classifier"],
    ["b", "heavy"],
  ] as const) {
    const row = find(rows, family, true, 64);
    const ratio = row ? row.result.rowsPerSecond / limits[family].batchRowsPerSecond : 0;
    checks.push({
      name: `(${tag}) ${family} c=64 batching on, rows/s >= 80% of batch-64 limit`,
      measured: `${f(row?.result.rowsPerSecond ?? 0)} / ${f(limits[family].batchRowsPerSecond)} = ${f(ratio * 100, 1)}%`,
      pass: ratio >= 0.8,
    });
  }
  for (const family of ["classifier", "heavy"] as const) {
    const row = find(rows, family, true, 64);
    const bound = row ? 2 * (row.model.maxQueueDelayUs / 1000 + limits[family].batchRunMs) : 0;
    const p99 = row?.result.p99Ms ?? Number.POSITIVE_INFINITY;
    checks.push({
      name: `(c) ${family} c=64 batching on, p99 <= 2 x (queue delay + batch-64 run)`,
      measured: `${f(p99, 2)} ms vs ${f(bound, 2)} ms`,
      pass: p99 <= bound,
    });
  }
  const row = find(rows, "classifier", true, 64);
  const ratio = row ? row.result.callsPerSecond / limits.classifier.singleCallsPerSecond : 0;
  checks.push({
    name: "(d) classifier c=64 batching on, calls/s >= 60% of single-call limit",
    measured: `${f(row?.result.callsPerSecond ?? 0)} / ${f(limits.classifier.singleCallsPerSecond)} = ${f(ratio * 100, 1)}%`,
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
  family: BenchFamily,
  batching: boolean,
  concurrency: number,
): BenchRow | undefined {
  return rows.find(
    (r) =>
      r.model.family === family && r.model.batching === batching && r.concurrency === concurrency,
  );
}
