/**
 * Prefix-cache bench (`npx tsx bench/generation-prefix-cache.ts`): time to first token
 * of a request whose long prefix a previous request already prefilled, against that
 * previous one's (issue 17's target: at most 0.25x). In process (one generation worker
 * per model, greedy, 1 token each) on stories260k (context 512: a 480-token prefix) and,
 * when written, the wide LLM fixture (`npm run fixtures:llm -- --shape wide`:
 * SmolLM2-135M's width on 2 layers) and the real-size fixture (`npm run fixtures:llm`:
 * SmolLM2-135M's shape, a 500-token prefix, the threads a server serving it alone
 * chooses); the real-size one also through a server child process over gRPC. Each
 * repetition uses a prefix no earlier one shared, so every first request misses.
 * `BENCH_PREFIX_REPS` sets the repetitions (default 7; 3 at real size).
 */
import { existsSync, readFileSync } from "node:fs";
import { link, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { GenerationService } from "../gen/inferd/v1/generation_pb.js";
import { loadGenerativeModel } from "../src/generation/load-generative-model.js";
import { defaultGenerationThreads } from "../src/generation/worker/generation-threads.js";
import type { WorkerGenerativeModel } from "../src/generation/worker-generative-model.js";
import { greedyStream, median } from "./generation-streams.js";
import { startServerProcess } from "./server-process.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const LLM_REPO = resolve(HERE, "../test/.output/llm-models");
const PREFIX_CACHE_BYTES = 256 * 1024 * 1024;
const reps = (fallback: number) => Number(process.env.BENCH_PREFIX_REPS ?? fallback);

/** One model the bench runs: where, how long a prefix, threads, repetitions, and whether through a server too. */
interface PrefixCase {
  readonly name: string;
  readonly dir: string;
  readonly prefix: number;
  readonly threads: number;
  readonly reps: number;
  readonly server: boolean;
}
const CASES: readonly PrefixCase[] = [
  {
    name: "stories260k",
    dir: resolve(HERE, "../../shared/models/stories260k/1"),
    ...{ prefix: 480, threads: 1, reps: reps(7), server: false },
  },
  {
    name: "wide fixture",
    dir: join(LLM_REPO, "wide/1"),
    ...{ prefix: 480, threads: 1, reps: reps(7), server: false },
  },
  {
    name: "real-size fixture (SmolLM2-135M shape)",
    dir: join(LLM_REPO, "smollm_135m/1"),
    ...{ prefix: 500, threads: defaultGenerationThreads(cpus().length, 1), reps: reps(3) },
    server: true,
  },
];

/** The first and second prompts of repetition `rep`: a fresh prefix, then two different tails. */
function prompts(c: PrefixCase, rep: number): [number[], number[]] {
  const { vocab_size: vocab } = JSON.parse(readFileSync(join(c.dir, "config.json"), "utf8")) as {
    vocab_size: number;
  };
  const prefix = Array.from(
    { length: c.prefix },
    (_, i) => 3 + ((i * 37 + rep * 101) % (vocab - 3)),
  );
  return [
    [1, ...prefix, 10, 11, 12, 13],
    [1, ...prefix, 20, 21, 22, 23, 24],
  ];
}

/** Medians of the first and second TTFTs over the case's repetitions, after one warm-up. */
async function measure(
  c: PrefixCase,
  ttft: (ids: number[]) => Promise<number>,
): Promise<{ first: number; second: number }> {
  await ttft([1, 5, 6]); // session, allocator
  const [firsts, seconds]: [number[], number[]] = [[], []];
  for (let rep = 0; rep < c.reps; rep++) {
    const [first, second] = prompts(c, rep);
    firsts.push(await ttft(first));
    seconds.push(await ttft(second));
  }
  return { first: median(firsts), second: median(seconds) };
}

function line(c: PrefixCase, how: string, t: { first: number; second: number }, saved: string) {
  const ratio = t.second / t.first;
  return `${c.name}, ${how}: ${c.prefix + 5}-token prompt, ${c.threads} intra-op thread(s), TTFT median of ${c.reps}: first ${t.first.toFixed(1)} ms, second (shared ${c.prefix + 1}-token prefix) ${t.second.toFixed(1)} ms, ratio ${ratio.toFixed(3)} (target <= 0.25: ${ratio <= 0.25 ? "PASS" : "MISS"}); ${saved}`;
}

async function inProcess(c: PrefixCase): Promise<string> {
  const model = await loadGenerativeModel({
    dir: c.dir,
    modelPath: join(c.dir, "model.onnx"),
    maxConcurrentSequences: 4,
    maxWaiting: 4,
    prefixCacheBytes: PREFIX_CACHE_BYTES,
    session: { intraOpThreads: c.threads },
  });
  try {
    const t = await measure(c, async (ids) => {
      const start = performance.now();
      const request = { promptTokenIds: ids, temperature: 0, maxTokens: 1, ignoreEos: true };
      for await (const _ of model.generate(request, new AbortController().signal)) break;
      return performance.now() - start;
    });
    const stats = (model as WorkerGenerativeModel).prefixCacheStats();
    return line(c, "in process", t, `tokens saved ${stats?.tokensSaved}`);
  } finally {
    await model.dispose();
  }
}

/** The same through inferd as a child process (hard links: ORT refuses a symlinked data file). */
async function throughServer(c: PrefixCase): Promise<string> {
  const repo = await mkdtemp(join(LLM_REPO, "..", "inferd-bench-prefix-"));
  const dir = join(repo, "prefix", "1");
  await mkdir(dir, { recursive: true });
  for (const file of await readdir(c.dir)) await link(join(c.dir, file), join(dir, file));
  const session = { intra_op_threads: c.threads };
  const modelJson = { kind: "generate", prefix_cache_bytes: PREFIX_CACHE_BYTES, session };
  await writeFile(join(repo, "prefix", "model.json"), JSON.stringify(modelJson));
  const server = await startServerProcess({ modelRepository: repo, readyTimeoutMs: 600_000 });
  try {
    const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` });
    const client = createClient(GenerationService, transport);
    const t = await measure(c, async (ids) => {
      return (await greedyStream(client, "prefix", { promptTokenIds: ids }, 1)).ttftMs;
    });
    const metrics = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    const saved = /^inferd_generation_prefix_cache_tokens_saved_total\{[^}]*\} (\S+)$/m.exec(
      metrics,
    );
    return line(c, "inferd over gRPC", t, `tokens saved (/metrics) ${saved?.[1] ?? "?"}`);
  } finally {
    await server.stop();
    await rm(repo, { recursive: true, force: true });
  }
}

console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
for (const c of CASES) {
  if (!existsSync(join(c.dir, "model.onnx"))) {
    console.log(`${c.name}: skipped, ${c.dir} absent`);
    continue;
  }
  console.log(await inProcess(c));
  if (c.server) console.log(await throughServer(c));
}
console.log(
  `load average at end ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
