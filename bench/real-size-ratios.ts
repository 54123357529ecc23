/** One engine's figures in one round of the real-size bench (tok/s). */
export interface RealSizeFigures {
  /** One greedy stream. */
  readonly one: number;
  /** 16 streams (inferd) or one batch of 16 (bare loop), aggregate: first request to last token. */
  readonly sixteen: number;
  /** The same once every stream has its first token (the bare batch: after its prefill run). */
  readonly steady: number;
}

/** Figures by model ("fp32", "int4") and engine ("bare 1", "bare N", "inferd 1", "inferd default"). */
export type RealSizeRounds = Map<string, RealSizeFigures[]>;

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

/**
 * The ratios issue 17's benchmark is judged by, as a Markdown table: each over the
 * median of the rounds' tok/s (a dash when the half it needs was not run).
 * `cores` is the bare loop's thread count compared with inferd's default threads
 * (one generative version loaded: all the cores).
 */
export function realSizeRatioTable(rounds: RealSizeRounds, cores: number): string[] {
  const get = (model: string, engine: string, which: keyof RealSizeFigures) => {
    const figures = rounds.get(`${model} ${engine}`) ?? [];
    return figures.length === 0 ? Number.NaN : median(figures.map((f) => f[which]));
  };
  const n = `bare ${cores}`;
  const rows: [string, number, string][] = [
    [
      "inferd / bare, one stream, 1 thread, fp32",
      get("fp32", "inferd 1", "one") / get("fp32", "bare 1", "one"),
      "≥ 0.95",
    ],
    [
      "inferd / bare, one stream, 1 thread, int4",
      get("int4", "inferd 1", "one") / get("int4", "bare 1", "one"),
      "≥ 0.95",
    ],
    [
      `inferd default threads / bare ${cores} threads, one stream, fp32`,
      get("fp32", "inferd default", "one") / get("fp32", n, "one"),
      "≥ 0.95",
    ],
    [
      `inferd default threads / bare ${cores} threads, one stream, int4`,
      get("int4", "inferd default", "one") / get("int4", n, "one"),
      "≥ 0.95",
    ],
    [
      "inferd default threads / bare 1 thread, one stream, fp32",
      get("fp32", "inferd default", "one") / get("fp32", "bare 1", "one"),
      "≥ 1.2",
    ],
    [
      "inferd 16 streams / one stream, default threads, fp32",
      get("fp32", "inferd default", "sixteen") / get("fp32", "inferd default", "one"),
      "≥ 8",
    ],
    [
      `int4: inferd 16 streams (default threads) / bare batched 16 (${cores} threads)`,
      get("int4", "inferd default", "sixteen") / get("int4", n, "sixteen"),
      "≥ 0.9",
    ],
    [
      `int4, steady state: inferd 16 streams (default threads) / bare batched 16 (${cores} threads)`,
      get("int4", "inferd default", "steady") / get("int4", n, "steady"),
      "(no target)",
    ],
    [
      `int4 control, kv_cache concat: inferd 16 streams (default threads) / bare batched 16 (${cores} threads)`,
      get("int4", "inferd default concat", "sixteen") / get("int4", n, "sixteen"),
      "(BENCH_REAL_SIZE_CONCAT=1)",
    ],
    [
      "int4: inferd 16 streams / bare batched 16, 1 thread",
      get("int4", "inferd 1", "sixteen") / get("int4", "bare 1", "sixteen"),
      "≥ 0.9",
    ],
    [
      "int4 / fp32, one stream, inferd default threads",
      get("int4", "inferd default", "one") / get("fp32", "inferd default", "one"),
      "≥ 2",
    ],
    [
      "int4 / fp32, one stream, inferd 1 thread",
      get("int4", "inferd 1", "one") / get("fp32", "inferd 1", "one"),
      "≥ 2",
    ],
    [
      "int4 one stream (inferd default threads) / 36 tok/s",
      get("int4", "inferd default", "one") / 36,
      "> 1",
    ],
  ];
  const count = Math.max(0, ...[...rounds.values()].map((f) => f.length));
  return [
    `| ratio (median of ${count} round(s)) | value | target |`,
    "|---|---:|---|",
    ...rows.map(
      ([what, x, target]) =>
        `| ${what} | ${Number.isFinite(x) ? `${x.toFixed(2)}x` : "—"} | ${target} |`,
    ),
  ];
}
