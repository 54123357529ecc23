/**
 * `npm run bench:generation`: token generation on ../shared/models/stories260k, side by
 * side in one run: single-stream greedy tokens/s through Generate (an inferd child
 * process, exactly `src/cli/main.ts`, called over gRPC) against a bare in-process
 * onnxruntime-node decode loop (the limit), then aggregate tokens/s and time to first
 * token at 1, 4, 16 and 64 concurrent streams. Prints a Markdown report with the
 * targets of issue 4.
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
import { startServerProcess } from "./server-process.js";

const STORIES = resolve(
  fileURLToPath(new URL(".", import.meta.url)),
  "../../shared/models/stories260k/1",
);
const SINGLE_TOKENS = 500;
const STREAM_TOKENS = 200;
const REPS = 3;
const CONCURRENCY = [1, 4, 16, 64];
const C_REFERENCE = 10_600;
const LOAD_AT_START = loadavg()[0] ?? 0;
const BARE_OPTIONS = {
  "ORT defaults": {},
  "intra-op spinning off": { extra: { session: { intra_op: { allow_spinning: "0" } } } },
};
const PROMPTS = [
  "Once upon a time",
  "The little dog",
  "Lily and Ben went to the park to play with a ball",
  "Tom had a red car",
  "One day, a big bird",
  "",
  "Sue liked to sing. Every morning she",
  "The sun was hot and the cat",
];

interface StreamResult {
  readonly ids: number[];
  readonly ttftMs: number;
  readonly totalMs: number;
}

/** A repository in a temp dir: stories260k/1 as symlinks, one slot per benchmarked stream. */
async function makeRepo(): Promise<string> {
  const repo = await mkdtemp(join(tmpdir(), "inferd-bench-gen-"));
  const dir = join(repo, "stories260k", "1");
  await mkdir(dir, { recursive: true });
  for (const file of await readdir(STORIES)) await symlink(join(STORIES, file), join(dir, file));
  const modelJson = { kind: "generate", max_concurrent_sequences: 64, max_waiting: 1024 };
  await writeFile(join(repo, "stories260k", "model.json"), JSON.stringify(modelJson));
  return repo;
}

const median = (xs: readonly number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const quantile = (xs: readonly number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? 0;
};
const f = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits });

async function main(): Promise<void> {
  if (!existsSync(join(STORIES, "model.onnx"))) {
    console.error(`skipped: ${STORIES}/model.onnx not found (the shared stories260k model)`);
    return;
  }
  const prompt = [1, 403, 407, 261, 378]; // "Once upon a time", BOS first

  // The limit is the faster of ORT's defaults and the server's setting (spinning off).
  const bareRuns: { ids: number[]; ms: number }[] = [];
  const bareBy: Record<string, number> = {};
  for (const [name, options] of Object.entries(BARE_OPTIONS)) {
    const bare = await createBareLoop(STORIES, options);
    await bare.run(prompt, 50); // warm up
    const runs = [];
    for (let i = 0; i < REPS; i++) runs.push(await bare.run(prompt, SINGLE_TOKENS));
    await bare.release();
    bareBy[name] = median(runs.map((r) => (SINGLE_TOKENS * 1000) / r.ms));
    if ((bareBy[name] ?? 0) >= Math.max(0, ...Object.values(bareBy)))
      bareRuns.splice(0, REPS, ...runs);
  }
  const bareTps = Math.max(...Object.values(bareBy));

  const repo = await makeRepo();
  const server = await startServerProcess({ modelRepository: repo });
  try {
    const client = createClient(
      GenerationService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` }),
    );
    const stream = async (
      request: { prompt?: string; promptTokenIds?: number[] },
      tokens: number,
    ) => {
      const started = performance.now();
      let ttftMs = 0;
      const ids: number[] = [];
      for await (const m of client.generate({
        model: "stories260k",
        ...request,
        temperature: 0,
        ignoreEos: true,
        maxTokens: tokens,
      })) {
        if (ids.length === 0 && m.tokenIds.length > 0) ttftMs = performance.now() - started;
        ids.push(...m.tokenIds);
      }
      return { ids, ttftMs, totalMs: performance.now() - started } satisfies StreamResult;
    };

    await stream({ promptTokenIds: prompt }, 50); // warm up
    const singles: StreamResult[] = [];
    for (let i = 0; i < REPS; i++)
      singles.push(await stream({ promptTokenIds: prompt }, SINGLE_TOKENS));
    const same = singles[0]?.ids.join() === bareRuns[0]?.ids.join();
    const serverTps = median(singles.map((r) => (SINGLE_TOKENS * 1000) / r.totalMs));

    const levels = [];
    for (const c of CONCURRENCY) {
      const perWorker = Math.max(2, Math.ceil(8 / c));
      const results: StreamResult[] = [];
      const started = performance.now();
      await Promise.all(
        Array.from({ length: c }, async (_, w) => {
          for (let k = 0; k < perWorker; k++) {
            const text = PROMPTS[(w + k) % PROMPTS.length] ?? "";
            results.push(await stream({ prompt: text }, STREAM_TOKENS));
          }
        }),
      );
      const ms = performance.now() - started;
      const tokens = results.reduce((n, r) => n + r.ids.length, 0);
      const ttft = results.map((r) => r.ttftMs);
      levels.push({
        c,
        streams: results.length,
        tokens,
        tps: (tokens * 1000) / ms,
        p50: quantile(ttft, 0.5),
        p99: quantile(ttft, 0.99),
      });
    }
    report({ bareTps, bareBy, serverTps, same, levels, singles, bareRuns });
  } finally {
    await server.stop();
    await rm(repo, { recursive: true, force: true });
  }
}

function report(r: {
  bareTps: number;
  bareBy: Record<string, number>;
  serverTps: number;
  same: boolean;
  levels: { c: number; streams: number; tokens: number; tps: number; p50: number; p99: number }[];
  singles: StreamResult[];
  bareRuns: { ms: number }[];
}): void {
  const one = r.levels.find((l) => l.c === 1)?.tps ?? 0;
  const sixteen = r.levels.find((l) => l.c === 16)?.tps ?? 0;
  const ratio = r.serverTps / r.bareTps;
  const lines = [
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, node ${process.version}, load average at start ${LOAD_AT_START.toFixed(2)} (1 min)`,
    "",
    `| single stream, greedy, ${SINGLE_TOKENS} tokens (median of ${REPS}) | tokens/s | ms |`,
    "|---|---:|---:|",
    ...Object.entries(r.bareBy).map(
      ([name, tps]) =>
        `| bare onnxruntime-node loop, in-process, ${name} | ${f(tps)} | ${f((SINGLE_TOKENS * 1000) / tps, 1)} |`,
    ),
    `| Generate over gRPC (inferd child process) | ${f(r.serverTps)} | ${f(median(r.singles.map((x) => x.totalMs)), 1)} |`,
    "",
    `same greedy ids through the server as the bare loop: ${r.same}`,
    "",
    `| concurrent streams | streams run | tokens | aggregate tokens/s | TTFT p50 ms | TTFT p99 ms |`,
    "|---:|---:|---:|---:|---:|---:|",
    ...r.levels.map(
      (l) =>
        `| ${l.c} | ${l.streams} | ${l.tokens} | ${f(l.tps)} | ${f(l.p50, 1)} | ${f(l.p99, 1)} |`,
    ),
    "",
    "| target | measured | result |",
    "|---|---|---|",
    `| one stream through the server >= 0.70 x bare loop | ${f(ratio, 2)} | ${ratio >= 0.7 ? "PASS" : "MISS"} |`,
    `| 16-stream aggregate >= 8 x 1-stream aggregate | ${f(sixteen / one, 2)} x | ${sixteen / one >= 8 ? "PASS" : "MISS"} |`,
    `| 16-stream aggregate > 2 x C reference (${f(2 * C_REFERENCE)} tok/s) | ${f(sixteen)} tok/s (${f(sixteen / C_REFERENCE, 2)} x C) | ${sixteen > 2 * C_REFERENCE ? "PASS" : "MISS"} |`,
  ];
  console.log(lines.join("\n"));
}

await main();
