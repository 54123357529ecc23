/**
 * `npm run bench:generation`: token generation on ../shared/models/stories260k, side by
 * side in one run: single-stream greedy tokens/s through Generate (an inferd child
 * process, exactly `src/cli/main.ts`, called over gRPC) against a bare in-process
 * onnxruntime-node decode loop (the limit), then aggregate tokens/s and time to first
 * token at 1, 4, 16 and 64 concurrent streams, next to the bare loop batched and to the
 * same model served with its KV cache as exported (`kv_cache: "concat"`, a second model
 * in the same server), so the append-only cache's gain is measured in the same run.
 * Bare and server runs alternate, so that load from other processes hits both alike.
 * Then a long prompt arriving while 8 streams decode, per prefill budget (chunked
 * prefill; generation-long-prompt.ts, its own server).
 * Prints a Markdown report with the targets of issue 4, then the real-size part
 * (generation-real-size.ts: SmolLM2-135M's shape, when `npm run fixtures:llm` made it)
 * and issue 17's long-prompt case on it (a 1,000-token prompt among 8 decoding streams).
 * `--real-size-only` skips the stories260k part.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { GenerationService } from "../gen/inferd/v1/generation_pb.js";
import { createBareLoop } from "./generation-bare-loop.js";
import { runLongPromptCase, runRealSizeLongPromptCase } from "./generation-long-prompt.js";
import { runRealSizeBench } from "./generation-real-size.js";
import {
  greedyStream,
  type LevelResult,
  median,
  PROMPTS,
  runLevel,
  type StreamResult,
} from "./generation-streams.js";
import { startServerProcess } from "./server-process.js";

const STORIES = resolve(
  fileURLToPath(new URL(".", import.meta.url)),
  "../../shared/models/stories260k/1",
);
const SINGLE_TOKENS = 500;
/** Tokens per stream in the concurrency runs: long (KV traffic dominates) and short. */
const STREAM_TOKENS = [200, 32];
const REPS = 5;
const CONCURRENCY = [1, 4, 16, 64];
const C_REFERENCE = 10_600;
const LOAD_AT_START = loadavg()[0] ?? 0;
const BARE_OPTIONS = {
  "ORT defaults": {},
  "one intra-op thread, no spinning (as the server)": {
    intraOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  },
};
const PROMPT_IDS = [1, 403, 407, 261, 378]; // "Once upon a time", BOS first

/** The model as served by default (append-only KV cache) and as exported. */
const MODELS = { append: "stories260k", concat: "stories260k_concat" } as const;

/** A repository in a temp dir: stories260k/1 as symlinks twice, a slot for every benchmarked stream. */
async function makeRepo(): Promise<string> {
  const repo = await mkdtemp(join(tmpdir(), "inferd-bench-gen-"));
  for (const [kvCache, name] of Object.entries(MODELS)) {
    const dir = join(repo, name, "1");
    await mkdir(dir, { recursive: true });
    for (const file of await readdir(STORIES)) await symlink(join(STORIES, file), join(dir, file));
    const modelJson = {
      kind: "generate",
      max_concurrent_sequences: 64,
      max_waiting: 1024,
      kv_cache: kvCache,
      // Pinned: this part checks per-step overhead against the one-thread bare loop.
      session: { intra_op_threads: 1 },
    };
    await writeFile(join(repo, name, "model.json"), JSON.stringify(modelJson));
  }
  return repo;
}

const f = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits });
const tps = (tokens: number, ms: number) => (tokens * 1000) / ms;

async function main(): Promise<void> {
  if (!existsSync(join(STORIES, "model.onnx"))) {
    console.error(`skipped: ${STORIES}/model.onnx not found (the shared stories260k model)`);
    return;
  }
  const bares = await Promise.all(
    Object.entries(BARE_OPTIONS).map(async ([name, options]) => ({
      name,
      loop: await createBareLoop(STORIES, options),
    })),
  );
  const repo = await makeRepo();
  const server = await startServerProcess({ modelRepository: repo });
  try {
    const client = createClient(
      GenerationService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` }),
    );
    const stream = (
      request: { prompt?: string; promptTokenIds?: number[] },
      tokens: number,
      model: string = MODELS.append,
    ) => greedyStream(client, model, request, tokens);
    for (const bare of bares) await bare.loop.run(PROMPT_IDS, 50); // warm up
    await stream({ promptTokenIds: PROMPT_IDS }, 50);

    const bareMs: Record<string, number[]> = Object.fromEntries(bares.map((b) => [b.name, []]));
    const singles: StreamResult[] = [];
    let same = true;
    for (let i = 0; i < REPS; i++) {
      for (const bare of bares) {
        const run = await bare.loop.run(PROMPT_IDS, SINGLE_TOKENS);
        bareMs[bare.name]?.push(run.ms);
        const served = await stream({ promptTokenIds: PROMPT_IDS }, SINGLE_TOKENS);
        singles.push(served);
        same &&= served.ids.join() === run.ids.join();
      }
    }
    const bareBy = Object.fromEntries(
      Object.entries(bareMs).map(([name, ms]) => [name, tps(SINGLE_TOKENS, median(ms))]),
    );
    const best = bares.reduce((a, b) => ((bareBy[b.name] ?? 0) > (bareBy[a.name] ?? 0) ? b : a));

    const sweeps: Sweep[] = [];
    for (const tokens of STREAM_TOKENS) {
      const sweep: Sweep = { tokens, levels: [], asExported: {}, bareBatched: {} };
      for (const c of CONCURRENCY) {
        const perClient = Math.max(2, Math.ceil(1600 / tokens / c));
        const level = await runLevel(
          (p) => stream({ prompt: p }, tokens),
          c,
          perClient,
          PROMPTS,
          server.pid,
        );
        sweep.levels.push(level);
        const exported = await runLevel(
          (p) => stream({ prompt: p }, tokens, MODELS.concat),
          c,
          perClient,
          PROMPTS,
          server.pid,
        );
        sweep.asExported[c] = exported.tps;
        // The batched best case: identical prompts, no padding, no joins or leaves.
        const times: number[] = [];
        for (let i = 0; i < perClient; i++)
          times.push((await best.loop.run(PROMPT_IDS, tokens, c)).ms);
        sweep.bareBatched[c] = tps(c * tokens, median(times));
      }
      sweeps.push(sweep);
    }
    report({ bareBy, singles, same, sweeps });
  } finally {
    await server.stop();
    await rm(repo, { recursive: true, force: true });
    for (const bare of bares) await bare.loop.release();
  }
  console.log((await runLongPromptCase()).join("\n"));
}

interface Sweep {
  readonly tokens: number;
  readonly levels: LevelResult[];
  /** Aggregate tokens/s of the model served with `kv_cache: "concat"`. */
  readonly asExported: Record<number, number>;
  readonly bareBatched: Record<number, number>;
}

function sweepLines(sweep: Sweep): string[] {
  const one = sweep.levels.find((l) => l.c === 1)?.tps ?? 0;
  const sixteen = sweep.levels.find((l) => l.c === 16)?.tps ?? 0;
  return [
    `| concurrent streams, ${sweep.tokens} tokens each | streams run | aggregate tokens/s | TTFT p50 ms | TTFT p99 ms | KV cache as exported: tokens/s | append / as exported | bare loop batched (best case) tokens/s | server / bare batched | CPU cores: server + client |`,
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...sweep.levels.map((l) => {
      const bare = sweep.bareBatched[l.c] ?? 0;
      const exported = sweep.asExported[l.c] ?? 0;
      return `| ${l.c} | ${l.streams} | ${f(l.tps)} | ${f(l.p50, 1)} | ${f(l.p99, 1)} | ${f(exported)} | ${f(l.tps / exported, 2)} | ${f(bare)} | ${f(l.tps / bare, 2)} | ${f(l.serverCores ?? Number.NaN, 2)} + ${f(l.clientCores, 2)} |`;
    }),
    "",
    "| target | measured | result |",
    "|---|---|---|",
    `| 16-stream aggregate >= 8 x 1-stream aggregate | ${f(sixteen / one, 2)} x | ${sixteen / one >= 8 ? "PASS" : "MISS"} |`,
    `| 16-stream aggregate > 2 x C reference (${f(2 * C_REFERENCE)} tok/s) | ${f(sixteen)} tok/s (${f(sixteen / C_REFERENCE, 2)} x C) | ${sixteen > 2 * C_REFERENCE ? "PASS" : "MISS"} |`,
    "",
  ];
}

function report(r: {
  bareBy: Record<string, number>;
  singles: StreamResult[];
  same: boolean;
  sweeps: Sweep[];
}): void {
  const bareTps = Math.max(...Object.values(r.bareBy));
  const serverMs = median(r.singles.map((x) => x.totalMs));
  const serverTps = tps(SINGLE_TOKENS, serverMs);
  const ratio = serverTps / bareTps;
  const lines = [
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, node ${process.version}; load average (1 min) ${LOAD_AT_START.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end`,
    "",
    `| single stream, greedy, ${SINGLE_TOKENS} tokens, median of ${REPS} (alternating) | tokens/s | ms |`,
    "|---|---:|---:|",
    ...Object.entries(r.bareBy).map(
      ([name, t]) =>
        `| bare onnxruntime-node loop, in-process, ${name} | ${f(t)} | ${f((SINGLE_TOKENS * 1000) / t, 1)} |`,
    ),
    `| Generate over gRPC (inferd child process, prompt to last token) | ${f(serverTps)} | ${f(serverMs, 1)} |`,
    "",
    `same greedy ids through the server as the bare loop: ${r.same}`,
    "",
    "| target | measured | result |",
    "|---|---|---|",
    `| one stream through the server >= 0.70 x bare loop | ${f(ratio, 2)} | ${ratio >= 0.7 ? "PASS" : "MISS"} |`,
    "",
    ...r.sweeps.flatMap(sweepLines),
  ];
  console.log(lines.join("\n"));
}

if (!process.argv.includes("--real-size-only")) await main();
console.log(["", ...(await runRealSizeBench())].join("\n"));
console.log(["", ...(await runRealSizeLongPromptCase())].join("\n"));
