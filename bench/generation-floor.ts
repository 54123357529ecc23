/**
 * The floor of "16 streams / one stream": the bare onnxruntime-node run of the very graph
 * inferd serves (the append-KV rewrite, cached beside the export as
 * `.inferd-append-kv-*.onnx` by the server's first load, or made here with
 * src/generation/kv-rewrite/ when absent), timed over one decode step at 1 row and at 16
 * rows, at a realistic context (`past` real tokens, default 130: the middle of a 256-token
 * stream), with the feeds the engine gives it (decoder-step.ts: the cache's capacity with
 * its spare slots masked, the new token's slot, position = past). The session options are
 * the server's (intra-op threads, no spinning) unless a variant says otherwise.
 * `16 x t(1) / t(16)` is the most any server can reach for "16 streams / one stream" in
 * steady state with this graph on this machine.
 * Alone: `npx tsx bench/generation-floor.ts [threads]` prints the step times of a few
 * session-option variants (spinning, graph optimisation level) at 1 and 16 rows.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { withHeadroom } from "../src/generation/engine/kv-cache.js";
import { rewriteForAppendKv } from "../src/generation/kv-rewrite/append-kv-rewrite.js";
import { median } from "./generation-streams.js";

/** The step times of the bare graph: ms per step (median over repetitions) at 1 and 16 rows. */
export interface FloorFigures {
  readonly oneMs: number;
  readonly sixteenMs: number;
  /** 16 x t(1) / t(16), median over adjacent pairs: the steady-state ceiling of "16 streams / one stream". */
  readonly ceiling: number;
  /** The same in CPU time per step (all threads): steadier on a loaded machine. */
  readonly cpuCeiling: number;
}

const ROWS = 16;

/** The KV cache's shape from the export's config.json: layers, KV heads, head size. */
export function kvShape(versionDir: string): { layers: number; heads: number; dim: number } {
  const config = JSON.parse(readFileSync(join(versionDir, "config.json"), "utf8")) as {
    num_hidden_layers: number;
    num_key_value_heads: number;
    head_dim: number;
  };
  const { num_hidden_layers: layers, num_key_value_heads: heads, head_dim: dim } = config;
  return { layers, heads, dim };
}

/**
 * The append-KV graph of the export in `versionDir`: the cached rewrite the server wrote
 * there, or a rewrite made now and written beside the export (removed by `dispose`).
 */
export async function appendKvGraph(
  versionDir: string,
): Promise<{ path: string; dispose(): Promise<void> }> {
  const cached = readdirSync(versionDir).find(
    (n) => n.startsWith(".inferd-append-kv-") && n.endsWith(".onnx"),
  );
  if (cached !== undefined) return { path: join(versionDir, cached), dispose: async () => {} };
  const rewritten = rewriteForAppendKv(readFileSync(join(versionDir, "model.onnx")));
  if (rewritten === undefined)
    throw new Error(`the append-KV rewrite does not apply to ${versionDir}`);
  const path = join(versionDir, `.floor-append-kv-${process.pid}.onnx`);
  await writeFile(path, rewritten.bytes);
  return { path, dispose: () => rm(path, { force: true }) };
}

/** The engine's feeds for one decode step of `rows` rows, each with `past` real tokens. */
function decodeFeeds(versionDir: string, rows: number, past: number): Record<string, ort.Tensor> {
  const { layers: L, heads: H, dim: D } = kvShape(versionDir);
  const capacity = withHeadroom(past);
  const total = capacity + 1;
  const feeds: Record<string, ort.Tensor> = {};
  for (let i = 0; i < L; i++) {
    for (const kind of ["key", "value"]) {
      const data = Float32Array.from(
        { length: rows * H * capacity * D },
        (_, k) => ((k % 97) - 48) / 97,
      );
      feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor("float32", data, [
        rows,
        H,
        capacity,
        D,
      ]);
    }
  }
  const mask = new BigInt64Array(rows * total);
  for (let r = 0; r < rows; r++) {
    mask.fill(1n, r * total, r * total + past);
    mask[r * total + total - 1] = 1n;
  }
  feeds.input_ids = new ort.Tensor("int64", new BigInt64Array(rows).fill(260n), [rows, 1]);
  feeds.attention_mask = new ort.Tensor("int64", mask, [rows, total]);
  feeds.position_ids = new ort.Tensor("int64", new BigInt64Array(rows).fill(BigInt(past)), [
    rows,
    1,
  ]);
  return feeds;
}

/** Wall and CPU (this process, all threads) ms of one run. */
async function timedRun(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>) {
  const [cpu, started] = [process.cpuUsage(), performance.now()];
  await session.run(feeds);
  const used = process.cpuUsage(cpu);
  return { wall: performance.now() - started, cpu: (used.user + used.system) / 1000 };
}

/**
 * Times the bare append-KV graph of `versionDir` at 1 and 16 rows under `options`, in
 * `pairs` adjacent pairs (a 1-row run, then a 16-row run), so that a load change on a
 * shared machine hits both halves of a pair alike: the ceiling is the median of the
 * pairs' own ratios. CPU time beside wall time: on an oversubscribed machine wall time
 * stretches with the other processes' share, CPU time much less (it leaves out how well
 * the step spreads over the threads, which wall time at low load includes).
 */
export async function measureFloor(
  versionDir: string,
  options: ort.InferenceSession.SessionOptions,
  past = 130,
  pairs = 16,
): Promise<FloorFigures> {
  const graph = await appendKvGraph(versionDir);
  const session = await ort.InferenceSession.create(graph.path, options);
  try {
    const one = decodeFeeds(versionDir, 1, past);
    const sixteen = decodeFeeds(versionDir, ROWS, past);
    for (let i = 0; i < 2; i++) for (const feeds of [one, sixteen]) await session.run(feeds);
    const runs: { one: { wall: number; cpu: number }; sixteen: { wall: number; cpu: number } }[] =
      [];
    for (let i = 0; i < pairs; i++) {
      runs.push({ one: await timedRun(session, one), sixteen: await timedRun(session, sixteen) });
    }
    return {
      oneMs: median(runs.map((r) => r.one.wall)),
      sixteenMs: median(runs.map((r) => r.sixteen.wall)),
      ceiling: median(runs.map((r) => (ROWS * r.one.wall) / r.sixteen.wall)),
      cpuCeiling: median(runs.map((r) => (ROWS * r.one.cpu) / r.sixteen.cpu)),
    };
  } finally {
    await session.release();
    await graph.dispose();
  }
}

/** One round of the real-size bench's fp32 floor: the bare steps and inferd beside them. */
export interface FloorRound {
  readonly floor: FloorFigures;
  /** inferd at its default threads: tok/s (one stream, 16 aggregate, 16 steady) and inter-token p50s. */
  readonly inferd: {
    readonly one: number;
    readonly sixteen: number;
    readonly steady: number;
    readonly stepMs: { readonly one: number; readonly sixteen: number };
  };
}

/**
 * The floor beside inferd, one Markdown row per round: the bare step at 1 and 16 rows,
 * the ceiling `16 x t(1) / t(16)`, inferd's "16 streams / one stream" (aggregate and
 * steady state), and inferd's step (inter-token p50) over the bare step at 1 and 16 rows:
 * the server's overhead per step (its steps run over pasts of 5 to 260, the bare one at 130).
 */
export function floorTable(rounds: readonly FloorRound[], cores: number): string[] {
  const x = (n: number) => `${n.toFixed(2)}x`;
  const ms = (n: number) => n.toFixed(1);
  return [
    `fp32 floor: the bare append-KV graph inferd serves, one decode step at past 130, ${cores} intra-op threads, no spinning, beside inferd at default threads in the same round`,
    "",
    "| round | bare step ms, 1 / 16 rows | ceiling 16 x t1 / t16, wall / CPU time | inferd 16 / one, aggregate / steady | inferd inter-token p50 ms, 1 / 16 | inferd / bare step, 1 / 16 rows |",
    "|---:|---:|---:|---:|---:|---:|",
    ...rounds.map(({ floor, inferd }, i) =>
      [
        `| ${i + 1}`,
        `${ms(floor.oneMs)} / ${ms(floor.sixteenMs)}`,
        `${x(floor.ceiling)} / ${x(floor.cpuCeiling)}`,
        `${x(inferd.sixteen / inferd.one)} / ${x(inferd.steady / inferd.one)}`,
        `${ms(inferd.stepMs.one)} / ${ms(inferd.stepMs.sixteen)}`,
        `${x(inferd.stepMs.one / floor.oneMs)} / ${x(inferd.stepMs.sixteen / floor.sixteenMs)} |`,
      ].join(" | "),
    ),
  ];
}

/** The server's session options at `threads` intra-op threads. */
export const serverSessionOptions = (threads: number): ort.InferenceSession.SessionOptions => ({
  intraOpNumThreads: threads,
  extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
});

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = resolve(
    fileURLToPath(new URL(".", import.meta.url)),
    "../test/.output/llm-models/smollm_135m/1",
  );
  if (!existsSync(join(dir, "model.onnx")))
    throw new Error(`${dir} is absent (npm run fixtures:llm)`);
  const threads = Number(process.argv[2] ?? 2);
  const past = Number(process.env.BENCH_FLOOR_PAST ?? 130);
  const spin = { session: { intra_op: { allow_spinning: "1" } } };
  const variants: Record<string, ort.InferenceSession.SessionOptions> = {
    "server (no spinning, optimisation all)": serverSessionOptions(threads),
    spinning: { intraOpNumThreads: threads, extra: spin },
    "no spinning, optimisation extended": {
      ...serverSessionOptions(threads),
      graphOptimizationLevel: "extended",
    },
    "no spinning, optimisation basic": {
      ...serverSessionOptions(threads),
      graphOptimizationLevel: "basic",
    },
  };
  const rounds = Number(process.env.BENCH_FLOOR_ROUNDS ?? 2);
  // BENCH_FLOOR_VARIANTS=1 times the server's options alone.
  const only = Number(process.env.BENCH_FLOOR_VARIANTS ?? Object.keys(variants).length);
  console.log(
    `past ${past}, ${threads} intra-op thread(s); ms per step at 1 / ${ROWS} rows, ceiling 16 x t1 / t16 (wall, then CPU time)`,
  );
  for (let round = 1; round <= rounds; round++) {
    for (const [name, options] of Object.entries(variants).slice(0, only)) {
      const f = await measureFloor(dir, options, past);
      console.log(
        `round ${round} | ${name} | ${f.oneMs.toFixed(2)} | ${f.sixteenMs.toFixed(2)} | ${f.ceiling.toFixed(2)}x | CPU ${f.cpuCeiling.toFixed(2)}x`,
      );
    }
  }
}
