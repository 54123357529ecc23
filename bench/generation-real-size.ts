/**
 * The real-size part of `npm run bench:generation`: the random-weight decoder of
 * SmolLM2-135M's shape (`npm run fixtures:llm`) in fp32 and its int4 copy (made on
 * demand by `inferd quantize`, see real-size-int4-fixture.ts), one greedy stream
 * through inferd (gRPC Generate to a child process) against the bare onnxruntime-node
 * loop under the same session options (1 thread and all the cores, no spinning), then
 * 16 concurrent streams against the bare loop batched 16; TTFT, inter-token p50/p99,
 * the server's RSS and its spawn-to-ready time beside a bare session's create time;
 * then issue 17's ratios (real-size-ratios.ts). Bare and inferd measurements alternate
 * (bare, inferd, bare, inferd) so that a load change on a shared machine hits both.
 * Tokens: `BENCH_LLM_TOKENS` (default 256) for the one stream and, as in issue 17's
 * table, for each of the 16 streams and the bare batch's rows (`BENCH_LLM_STREAM_TOKENS`
 * sets those alone, to shorten a run); the 16 streams' aggregate is their tokens over
 * the wall time from the first request to the last token, printed beside the steady
 * state (tokens after all 16 have their first token, over that span) and TTFT p50, so
 * that the ramp and the batched decoding both show. `BENCH_REAL_SIZE_ONLY=fp32|int4`
 * runs one half; `BENCH_REAL_SIZE_ROUNDS` (default 1) repeats the sequence, ratios over medians.
 * `BENCH_REAL_SIZE_CONCAT=1` adds, last in each round, inferd at default threads with
 * model.json `kv_cache: "concat"` (the export's own cache: the control for the append-KV rewrite).
 */
import { existsSync } from "node:fs";
import { link, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { GenerationService } from "../gen/inferd/v1/generation_pb.js";
import { createBareLoop } from "./generation-bare-loop.js";
import {
  type FloorRound,
  floorTable,
  measureFloor,
  serverSessionOptions,
} from "./generation-floor.js";
import { median, quantile } from "./generation-streams.js";
import { ensureInt4Fixture } from "./real-size-int4-fixture.js";
import {
  type RealSizeFigures,
  type RealSizeRounds,
  realSizeRatioTable,
} from "./real-size-ratios.js";
import { buildOnce, startServerProcess } from "./server-process.js";

const LLM_REPO = resolve(
  fileURLToPath(new URL(".", import.meta.url)),
  "../test/.output/llm-models",
);
const NAME = "smollm_135m";
const FIXTURE = join(LLM_REPO, NAME, "1");

/** One model the bench runs: its label, its name in inferd's repository and its folder. */
interface Variant {
  readonly model: "fp32" | "int4";
  readonly name: string;
  readonly dir: string;
}
const VARIANTS: readonly Variant[] = [
  { model: "fp32", name: NAME, dir: FIXTURE },
  { model: "int4", name: `${NAME}_q4`, dir: join(LLM_REPO, `${NAME}_q4`, "1") },
];
const TOKENS = Number(process.env.BENCH_LLM_TOKENS ?? 256);
/** New tokens of each of the 16 streams and of each row of the bare batch. */
const STREAM_TOKENS = Number(process.env.BENCH_LLM_STREAM_TOKENS ?? TOKENS);
const STREAMS = 16;
const PROMPT_IDS = [1, 260, 1000, 5000, 20_000];

/** One stream: its ids, TTFT and the gaps between the messages that carried tokens. */
interface TimedStream {
  readonly ids: number[];
  readonly ttftMs: number;
  readonly totalMs: number;
  readonly gapsMs: number[];
  /** Each message carrying tokens: when it arrived (performance.now()) and how many. */
  readonly arrivals: { at: number; count: number }[];
}

async function timedStream(
  client: Client<typeof GenerationService>,
  model: string,
  request: { prompt?: string; promptTokenIds?: number[] },
  tokens: number,
): Promise<TimedStream> {
  const started = performance.now();
  const ids: number[] = [];
  const gapsMs: number[] = [];
  const arrivals: { at: number; count: number }[] = [];
  let last = started;
  let ttftMs = 0;
  const stream = client.generate({
    model,
    ...request,
    temperature: 0,
    ignoreEos: true,
    maxTokens: tokens,
  });
  for await (const m of stream) {
    if (m.tokenIds.length === 0) continue;
    const now = performance.now();
    if (ids.length === 0) ttftMs = now - started;
    else gapsMs.push(now - last);
    last = now;
    ids.push(...m.tokenIds);
    arrivals.push({ at: now, count: m.tokenIds.length });
  }
  return { ids, ttftMs, totalMs: performance.now() - started, gapsMs, arrivals };
}

/** Peak and current resident set of a process in MB, from /proc (Linux). */
async function rssMb(pid: number): Promise<{ peak: number; now: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { peak: kb("VmHWM") / 1024, now: kb("VmRSS") / 1024 };
}

/**
 * A repository holding `variant`'s folder as hard links (ORT refuses external data
 * reached through a symbolic link), with `session` as its model.json's session options.
 */
async function makeRepo(
  variant: Variant,
  session: Record<string, number> | undefined,
  kvCache: "append" | "concat",
): Promise<string> {
  const repo = await mkdtemp(join(LLM_REPO, "..", "llm-bench-"));
  const dir = join(repo, variant.name, "1");
  await mkdir(dir, { recursive: true });
  for (const file of await readdir(variant.dir)) {
    await link(join(variant.dir, file), join(dir, file));
  }
  const modelJson = {
    kind: "generate",
    max_concurrent_sequences: STREAMS,
    ...(session && { session }),
    ...(kvCache === "concat" && { kv_cache: kvCache }),
  };
  await writeFile(join(repo, variant.name, "model.json"), JSON.stringify(modelJson));
  return repo;
}

const f = (n: number, digits = 1) => n.toLocaleString("en-US", { maximumFractionDigits: digits });
const tps = (tokens: number, ms: number) => (tokens * 1000) / ms;

/** One row of the table: its Markdown line, the greedy ids of its one stream, its tok/s. */
interface Row {
  readonly line: string;
  readonly ids: number[];
  readonly figures: RealSizeFigures;
  /** inferd's inter-token p50 (ms): one stream, and the 16 streams; absent for bare rows. */
  readonly stepMs?: { readonly one: number; readonly sixteen: number };
}

/** The bare loop at `threads` intra-op threads, no spinning: create time and one stream's tok/s. */
async function bareRow(variant: Variant, threads: number): Promise<Row> {
  const started = performance.now();
  const bare = await createBareLoop(variant.dir, {
    intraOpNumThreads: threads,
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  });
  const loadMs = performance.now() - started;
  await bare.run(PROMPT_IDS, 4); // warm up
  const single = await bare.run(PROMPT_IDS, TOKENS);
  const batched = await bare.run(PROMPT_IDS, STREAM_TOKENS, STREAMS);
  await bare.release();
  const figures = {
    one: tps(TOKENS, single.ms),
    sixteen: tps(STREAMS * STREAM_TOKENS, batched.ms),
    // After the prefill run (which gave every row its first token): decoding alone.
    steady: tps(STREAMS * (STREAM_TOKENS - 1), batched.ms - batched.firstMs),
  };
  return {
    ids: single.ids,
    figures,
    line: `| ${variant.model}: bare onnxruntime-node loop, ${threads} intra-op thread(s) | ${f(figures.one)} | | | | ${f(figures.sixteen)} / ${f(figures.steady)} (one batch of ${STREAMS} x ${STREAM_TOKENS}, identical prompts) | ${f(batched.firstMs, 0)} (the batch's prefill) | | ${f(loadMs / 1000, 2)} s (session create) |`,
  };
}

/** inferd as a child process with `session` in model.json: load, one stream, then 16 at once. */
async function serverRow(
  variant: Variant,
  label: string,
  session: Record<string, number> | undefined,
  kvCache: "append" | "concat" = "append",
): Promise<Row> {
  const repo = await makeRepo(variant, session, kvCache);
  await buildOnce();
  const started = performance.now();
  const server = await startServerProcess({ modelRepository: repo, readyTimeoutMs: 600_000 });
  const readyMs = performance.now() - started;
  try {
    const loaded = await rssMb(server.pid);
    const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` });
    const client = createClient(GenerationService, transport);
    const stream = (request: { prompt?: string; promptTokenIds?: number[] }, tokens: number) =>
      timedStream(client, variant.name, request, tokens);
    await stream({ promptTokenIds: PROMPT_IDS }, 4); // warm up
    const one = await stream({ promptTokenIds: PROMPT_IDS }, TOKENS);
    const wall = performance.now();
    const many = await Promise.all(
      Array.from({ length: STREAMS }, () =>
        // The bare batch's prompt: 16 x 5 ids, so the aggregate compares decoding, not prefills.
        stream({ promptTokenIds: PROMPT_IDS }, STREAM_TOKENS),
      ),
    );
    const after = await rssMb(server.pid);
    const gaps = many.flatMap((s) => s.gapsMs);
    const figures = { one: tps(TOKENS, one.totalMs), ...aggregate(many, wall) };
    return {
      ids: one.ids,
      figures,
      stepMs: { one: median(one.gapsMs), sixteen: median(gaps) },
      line: `| ${variant.model}: inferd Generate over gRPC, ${label} | ${f(figures.one)} | ${f(one.ttftMs, 0)} | ${f(median(one.gapsMs))} / ${f(quantile(one.gapsMs, 0.99))} | ${f(loaded.peak, 0)} / ${f(after.now, 0)} | ${f(figures.sixteen)} / ${f(figures.steady)} (${STREAMS} streams of ${STREAM_TOKENS}) | ${f(median(many.map((s) => s.ttftMs)), 0)} | ${f(median(gaps))} / ${f(quantile(gaps, 0.99))} | ${f(readyMs / 1000, 2)} s (spawn to ready) |`,
    };
  } finally {
    await server.stop();
    await rm(repo, { recursive: true, force: true });
  }
}

/**
 * Concurrent streams' aggregate tok/s: all their tokens over the wall time from the
 * first request (`wall`) to the last token, and the steady state: the tokens that
 * arrived after every stream had its first one, over that span (the ramp left out).
 */
function aggregate(
  streams: readonly TimedStream[],
  wall: number,
): { sixteen: number; steady: number } {
  const arrivals = streams.flatMap((s) => s.arrivals);
  const end = Math.max(...arrivals.map((a) => a.at));
  const allStarted = Math.max(...streams.map((s) => s.arrivals[0]?.at ?? end));
  const tokens = arrivals.reduce((n, a) => n + a.count, 0);
  const after = arrivals.filter((a) => a.at > allStarted).reduce((n, a) => n + a.count, 0);
  return { sixteen: tps(tokens, end - wall), steady: tps(after, end - allStarted) };
}

/**
 * One round on `variant`, bare and inferd alternating: bare at 1 thread, inferd pinned
 * to 1, bare at all the cores, inferd at its default (the cores' share: all of them
 * with one generative version). Rows keyed as real-size-ratios.ts reads them.
 */
async function runVariant(variant: Variant, cores: number): Promise<[string, Row][]> {
  const rows: [string, Row][] = [
    ["bare 1", await bareRow(variant, 1)],
    ["inferd 1", await serverRow(variant, "session.intra_op_threads 1", { intra_op_threads: 1 })],
    [`bare ${cores}`, await bareRow(variant, cores)],
    ["inferd default", await serverRow(variant, "default threads (the cores' share)", undefined)],
  ];
  if (process.env.BENCH_REAL_SIZE_CONCAT === "1") {
    const label = 'default threads, kv_cache "concat" (control)';
    rows.push(["inferd default concat", await serverRow(variant, label, undefined, "concat")]);
  }
  return rows;
}

/**
 * fp32's floor (generation-floor.ts) at the default threads, measured right after the
 * inferd row it is set beside, so that both see the same load.
 */
async function floorRound(variant: Variant, rows: [string, Row][], cores: number) {
  const inferd = rows.find(([engine]) => engine === "inferd default")?.[1];
  if (variant.model !== "fp32" || inferd?.stepMs === undefined) return undefined;
  const floor = await measureFloor(variant.dir, serverSessionOptions(cores));
  return { floor, inferd: { ...inferd.figures, stepMs: inferd.stepMs } } satisfies FloorRound;
}

/** The variants `BENCH_REAL_SIZE_ONLY` (fp32, int4, or unset: both) selects. */
function selectedVariants(): readonly Variant[] {
  const only = process.env.BENCH_REAL_SIZE_ONLY;
  if (only === undefined || only === "") return VARIANTS;
  const chosen = VARIANTS.filter((v) => v.model === only);
  if (chosen.length === 0) throw new Error(`BENCH_REAL_SIZE_ONLY=${only}: expected fp32 or int4`);
  return chosen;
}

/**
 * Runs the real-size benchmark and returns its Markdown lines, or one line saying how
 * to make the fixture when it is absent.
 */
export async function runRealSizeBench(): Promise<string[]> {
  if (!existsSync(join(FIXTURE, "model.onnx"))) {
    return [`real-size fixture skipped: ${FIXTURE} is absent (make it: npm run fixtures:llm)`];
  }
  const variants = selectedVariants();
  const notes: string[] = [];
  const int4 = VARIANTS[1];
  if (int4 && variants.includes(int4)) {
    const made = await ensureInt4Fixture(FIXTURE, int4.dir);
    notes.push(made ? `int4 copy made: ${made}` : `int4 copy reused: ${int4.dir}`);
  }
  const cores = cpus().length;
  const roundCount = Math.max(1, Number(process.env.BENCH_REAL_SIZE_ROUNDS ?? 1));
  const loadAtStart = loadavg()[0] ?? 0;
  const lines: string[] = [];
  const rounds: RealSizeRounds = new Map();
  const ids = new Map<string, { engine: string; ids: number[] }[]>();
  const floors: FloorRound[] = [];
  for (let round = 1; round <= roundCount; round++) {
    for (const variant of variants) {
      const rows = await runVariant(variant, cores);
      const floor = await floorRound(variant, rows, cores);
      if (floor !== undefined) floors.push(floor);
      for (const [engine, row] of rows) {
        lines.push(roundCount > 1 ? row.line.replace("| ", `| round ${round}, `) : row.line);
        const key = `${variant.model} ${engine}`;
        rounds.set(key, [...(rounds.get(key) ?? []), row.figures]);
        ids.set(variant.model, [...(ids.get(variant.model) ?? []), { engine, ids: row.ids }]);
      }
    }
  }
  return [
    `### SmolLM2-135M shape (random weights, ${NAME}: fp32, and int4 MatMulNBits block 32 accuracy_level 4 made by inferd quantize), greedy, ${TOKENS} tokens one stream, ${STREAM_TOKENS} each of 16`,
    "",
    `machine: ${cores} x ${cpus()[0]?.model ?? "?"}, node ${process.version}; load average (1 min) ${loadAtStart.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end`,
    ...notes.flatMap((n) => ["", n]),
    "",
    "| engine | 1 stream tok/s | TTFT ms | inter-token p50 / p99 ms | RSS MB peak at ready / after | 16 streams aggregate / steady-state tok/s | TTFT p50 ms (16) | inter-token p50 / p99 ms (16) | load |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...lines,
    "",
    ...[...ids].map(([model, runs]) => sameIdsLine(model, runs)),
    "",
    ...realSizeRatioTable(rounds, cores),
    ...(floors.length > 0 ? ["", ...floorTable(floors, cores)] : []),
  ];
}

/**
 * Whether every row of `model` (bare loops, inferd at 1 and default threads) gave the
 * same greedy ids as the first (the bare loop at 1 thread), and if not, at which step
 * (1-based) each other one parts from it: at MatMulNBits accuracy_level 4 the append-KV
 * rewrite's reordered sums may flip an int8 rounding that a greedy stream then follows.
 */
function sameIdsLine(model: string, runs: readonly { engine: string; ids: number[] }[]): string {
  const [first] = runs;
  const parted = runs.flatMap((r) => {
    const step = r.ids.findIndex((id, i) => id !== first?.ids[i]);
    const at = step < 0 && r.ids.length !== first?.ids.length ? r.ids.length : step;
    return at < 0 ? [] : [`${r.engine} parts from ${first?.engine} at step ${at + 1}`];
  });
  const verdict = parted.length === 0 ? "true" : `false (${parted.join("; ")})`;
  return `same greedy ids (${model}: bare loops, inferd at 1 thread and default threads): ${verdict}`;
}
