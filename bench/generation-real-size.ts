/**
 * The real-size part of `npm run bench:generation`: the random-weight decoder of
 * SmolLM2-135M's shape (`npm run fixtures:llm`), one greedy stream through inferd
 * (gRPC Generate to a child process) against the bare onnxruntime-node loop under the
 * same session options (1 and 2 intra-op threads, no spinning), then 16 concurrent
 * streams; TTFT, inter-token p50/p99, the server's RSS and its spawn-to-ready time
 * beside a bare session's create time. Tokens: `BENCH_LLM_TOKENS` (default 256).
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
import { median, PROMPTS, quantile } from "./generation-streams.js";
import { buildOnce, startServerProcess } from "./server-process.js";

const LLM_REPO = resolve(
  fileURLToPath(new URL(".", import.meta.url)),
  "../test/.output/llm-models",
);
const NAME = "smollm_135m";
const FIXTURE = join(LLM_REPO, NAME, "1");
const TOKENS = Number(process.env.BENCH_LLM_TOKENS ?? 256);
const STREAMS = 16;
const PROMPT_IDS = [1, 260, 1000, 5000, 20_000];
/** The story openings, but not the empty one: this tokenizer adds no BOS to stand for it. */
const TEXTS = PROMPTS.filter((p) => p !== "");

/** One stream: its ids, TTFT and the gaps between the messages that carried tokens. */
interface TimedStream {
  readonly ids: number[];
  readonly ttftMs: number;
  readonly totalMs: number;
  readonly gapsMs: number[];
}

async function timedStream(
  client: Client<typeof GenerationService>,
  request: { prompt?: string; promptTokenIds?: number[] },
  tokens: number,
): Promise<TimedStream> {
  const started = performance.now();
  const ids: number[] = [];
  const gapsMs: number[] = [];
  let last = started;
  let ttftMs = 0;
  const stream = client.generate({
    model: NAME,
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
  }
  return { ids, ttftMs, totalMs: performance.now() - started, gapsMs };
}

/** Peak and current resident set of a process in MB, from /proc (Linux). */
async function rssMb(pid: number): Promise<{ peak: number; now: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { peak: kb("VmHWM") / 1024, now: kb("VmRSS") / 1024 };
}

/**
 * A repository holding the fixture as hard links (ORT refuses external data reached
 * through a symbolic link), with `session` as its model.json's session options.
 */
async function makeRepo(session: Record<string, number> | undefined): Promise<string> {
  const repo = await mkdtemp(join(LLM_REPO, "..", "llm-bench-"));
  const dir = join(repo, NAME, "1");
  await mkdir(dir, { recursive: true });
  for (const file of await readdir(FIXTURE)) await link(join(FIXTURE, file), join(dir, file));
  const modelJson = {
    kind: "generate",
    max_concurrent_sequences: STREAMS,
    ...(session && { session }),
  };
  await writeFile(join(repo, NAME, "model.json"), JSON.stringify(modelJson));
  return repo;
}

const f = (n: number, digits = 1) => n.toLocaleString("en-US", { maximumFractionDigits: digits });
const tps = (tokens: number, ms: number) => (tokens * 1000) / ms;

/** The bare loop at `threads` intra-op threads, no spinning: create time and one stream's tok/s. */
async function bareRow(threads: number): Promise<{ line: string; ids: number[] }> {
  const started = performance.now();
  const bare = await createBareLoop(FIXTURE, {
    intraOpNumThreads: threads,
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  });
  const loadMs = performance.now() - started;
  await bare.run(PROMPT_IDS, 4); // warm up
  const single = await bare.run(PROMPT_IDS, TOKENS);
  const batched = await bare.run(PROMPT_IDS, Math.max(8, TOKENS / 4), STREAMS);
  await bare.release();
  const batchedTps = tps(STREAMS * Math.max(8, TOKENS / 4), batched.ms);
  return {
    ids: single.ids,
    line: `| bare onnxruntime-node loop, ${threads} intra-op thread(s) | ${f(tps(TOKENS, single.ms))} | | | | ${f(batchedTps)} (one batch of ${STREAMS}, identical prompts) | | | ${f(loadMs / 1000, 2)} s (session create) |`,
  };
}

/** inferd as a child process with `session` in model.json: load, one stream, then 16 at once. */
async function serverRow(label: string, session: Record<string, number> | undefined) {
  const repo = await makeRepo(session);
  await buildOnce();
  const started = performance.now();
  const server = await startServerProcess({ modelRepository: repo, readyTimeoutMs: 600_000 });
  const readyMs = performance.now() - started;
  try {
    const loaded = await rssMb(server.pid);
    const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` });
    const client = createClient(GenerationService, transport);
    await timedStream(client, { promptTokenIds: PROMPT_IDS }, 4); // warm up
    const one = await timedStream(client, { promptTokenIds: PROMPT_IDS }, TOKENS);
    const perStream = Math.max(8, TOKENS / 4);
    const wall = performance.now();
    const many = await Promise.all(
      Array.from({ length: STREAMS }, (_, i) =>
        timedStream(client, { prompt: TEXTS[i % TEXTS.length] ?? "" }, perStream),
      ),
    );
    const manyMs = performance.now() - wall;
    const after = await rssMb(server.pid);
    const gaps = many.flatMap((s) => s.gapsMs);
    const tokens = many.reduce((n, s) => n + s.ids.length, 0);
    return {
      ids: one.ids,
      line: `| inferd Generate over gRPC, ${label} | ${f(tps(TOKENS, one.totalMs))} | ${f(one.ttftMs, 0)} | ${f(median(one.gapsMs))} / ${f(quantile(one.gapsMs, 0.99))} | ${f(loaded.peak, 0)} / ${f(after.now, 0)} | ${f(tps(tokens, manyMs))} (${STREAMS} streams of ${perStream}) | ${f(median(many.map((s) => s.ttftMs)), 0)} | ${f(median(gaps))} / ${f(quantile(gaps, 0.99))} | ${f(readyMs / 1000, 2)} s (spawn to ready) |`,
    };
  } finally {
    await server.stop();
    await rm(repo, { recursive: true, force: true });
  }
}

/**
 * Runs the real-size benchmark and returns its Markdown lines, or one line saying how
 * to make the fixture when it is absent.
 */
export async function runRealSizeBench(): Promise<string[]> {
  if (!existsSync(join(FIXTURE, "model.onnx"))) {
    return [`real-size fixture skipped: ${FIXTURE} is absent (make it: npm run fixtures:llm)`];
  }
  const loadAtStart = loadavg()[0] ?? 0;
  const bare = [await bareRow(1), await bareRow(2)];
  const pinned = await serverRow("session.intra_op_threads 1", { intra_op_threads: 1 });
  const defaults = await serverRow("default threads (the cores' share)", undefined);
  return [
    `### SmolLM2-135M shape (random weights, fp32, ${NAME}), greedy, ${TOKENS} tokens one stream`,
    "",
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, node ${process.version}; load average (1 min) ${loadAtStart.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end`,
    "",
    "| engine | 1 stream tok/s | TTFT ms | inter-token p50 / p99 ms | RSS MB peak at ready / after | 16 streams aggregate tok/s | TTFT p50 ms (16) | inter-token p50 / p99 ms (16) | load |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...bare.map((b) => b.line),
    pinned.line,
    defaults.line,
    "",
    `same greedy ids (bare loops, inferd at 1 thread and default threads): ${[...bare, pinned, defaults].every((r) => r.ids.join() === pinned.ids.join())}`,
  ];
}
