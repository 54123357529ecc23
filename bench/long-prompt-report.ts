/**
 * The Markdown report of bench/generation-long-prompt.ts: one row per prefill budget,
 * the floor (the same streams with no long prompt) and issue 17's two target checks
 * per budget (streams' inter-token p99 <= 3x their median; the long prompt's TTFT among
 * the streams <= 1.3x a bare onnxruntime-node prefill of it under the same threads).
 */
import { median, quantile } from "./generation-streams.js";

/** What the runs of one budget gathered, over all rounds. */
export interface LongPromptRow {
  gaps: number[];
  /** Per round: the streams' longest gap overlapping the long prompt's prefill. */
  windowMax: number[];
  ttft: number[];
  alone: number[];
}

export interface LongPromptFigures {
  readonly heading: string;
  readonly promptLength: number;
  readonly rows: ReadonlyMap<number, LongPromptRow>;
  /** Gaps of the same streams with no long prompt. */
  readonly floor: readonly number[];
  /** Median bare prefill of the prompt, ms. */
  readonly bareMs: number;
  readonly threads: number;
}

const f = (n: number, digits = 1) => n.toLocaleString("en-US", { maximumFractionDigits: digits });
const verdict = (ok: boolean) => (ok ? "PASS" : "MISS");

/** The report's lines: heading, table, bare prefill, targets. */
export function longPromptReport(r: LongPromptFigures): string[] {
  const [p50, p99] = [quantile(r.floor, 0.5), quantile(r.floor, 0.99)];
  const label = (budget: number) =>
    budget >= r.promptLength
      ? `${budget} (off: one run)`
      : `${budget} (${Math.ceil(r.promptLength / budget)} chunks)`;
  const rows = [...r.rows].map(([budget, row]) => ({
    label: label(budget),
    row,
    p50: quantile(row.gaps, 0.5),
    p99: quantile(row.gaps, 0.99),
    ttft: median(row.ttft),
  }));
  return [
    r.heading,
    "",
    "| max_prefill_tokens_per_step | streams' inter-token p50 ms | p99 ms | p99 / p50 | max ms | longest gap during the prefill, median of rounds, ms | long prompt TTFT p50 ms (among streams) | TTFT alone, server ms | TTFT among streams / bare prefill |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    `| no long prompt (the floor) | ${f(p50, 2)} | ${f(p99, 2)} | ${f(p99 / p50, 2)} | ${f(Math.max(...r.floor))} | | | | |`,
    ...rows.map(
      (x) =>
        `| ${x.label} | ${f(x.p50, 2)} | ${f(x.p99, 2)} | ${f(x.p99 / x.p50, 2)} | ${f(Math.max(...x.row.gaps))} | ${f(median(x.row.windowMax))} | ${f(x.ttft)} | ${f(median(x.row.alone))} | ${f(x.ttft / r.bareMs, 2)} |`,
    ),
    "",
    `bare onnxruntime-node prefill of the same prompt (one run, ${r.threads} intra-op thread(s), no spinning): ${f(r.bareMs, 2)} ms (median)`,
    "",
    "| target (issue 17, item 4) | budget | measured | result |",
    "|---|---|---:|---|",
    ...rows.flatMap((x) => [
      `| streams' inter-token p99 <= 3 x p50 | ${x.label} | ${f(x.p99 / x.p50, 2)} x | ${verdict(x.p99 <= 3 * x.p50)} |`,
      `| long prompt TTFT among streams <= 1.3 x bare prefill | ${x.label} | ${f(x.ttft / r.bareMs, 2)} x | ${verdict(x.ttft <= 1.3 * r.bareMs)} |`,
    ]),
  ];
}
