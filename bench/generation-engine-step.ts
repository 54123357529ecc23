/**
 * `npx tsx bench/generation-engine-step.ts [threads] [tokens]`: where a decode step of
 * the SmolLM2-135M-shaped fixture goes inside inferd's engine, without the worker thread
 * or any RPC: the scheduler (decoder-step, KV cache, sampler, detokenizer) driving an
 * InProcessSession of the append-KV graph the server serves (its cached rewrite beside
 * the export), under the server's session options. One greedy stream, then 16 at once
 * (same prompt, `tokens` each, default 256), alternating over `BENCH_ENGINE_ROUNDS`
 * rounds (default 2; `BENCH_ENGINE_STREAMS=16` runs the 16 alone); per step: the wall
 * time, the time inside `session.run`, and the rest (the engine's own JS between runs,
 * while ORT's threads idle). Prefills excluded. Under load (session 24, load average 8-10
 * on 2 cores) the rest was 12-24 ms of a 16-row step of 180-270 ms, 1.5-3 ms at one row
 * (at load 2-3: 4.9-6.8 ms of 72-101 ms, mean over 256 tokens, and 0.75 ms of 35-41 ms);
 * `node --cpu-prof` put it in GC (scavenges on external memory pressure, 17-21 ms each,
 * freeing the KV buffers a regrowth replaced), the regrowth copies, KvCache.write and argmax.
 */
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readDecoderSignature } from "../src/generation/engine/decoder-signature.js";
import type { DecoderRunner } from "../src/generation/engine/decoder-step.js";
import { GenerationScheduler } from "../src/generation/engine/scheduler.js";
import { loadGenerationConfig } from "../src/generation/request/generation-config.js";
import { loadTextTokenizer } from "../src/generation/request/tokenizer.js";
import { createInProcessSession } from "../src/runtime/in-process-session.js";
import { greedyJob } from "../test/helpers/greedy-job.js";
import { median } from "./generation-streams.js";

const DIR = resolve(
  fileURLToPath(new URL(".", import.meta.url)),
  "../test/.output/llm-models/smollm_135m/1",
);
const PROMPT = [1, 260, 1000, 5000, 20_000];

const job = (maxTokens: number) => greedyJob(PROMPT, maxTokens, 8192);

/** A runner that times each decode run (one new token per row) of `inner`. */
function timed(inner: DecoderRunner) {
  const runs: { rows: number; ms: number; at: number }[] = [];
  const runner: DecoderRunner = {
    async run(feeds) {
      const started = performance.now();
      const out = await inner.run(feeds);
      const [rows = 0, n = 0] = feeds.input_ids?.dims ?? [];
      if (n === 1) runs.push({ rows, ms: performance.now() - started, at: started });
      return out;
    },
  };
  return { runner, runs };
}

async function main() {
  if (!existsSync(join(DIR, "model.onnx")))
    throw new Error(`${DIR} is absent (npm run fixtures:llm)`);
  const cached = readdirSync(DIR).find((n) => n.startsWith(".inferd-append-kv-"));
  if (cached === undefined) throw new Error("no cached append-KV rewrite: start inferd on it once");
  const threads = Number(process.argv[2] ?? 2);
  const tokens = Number(process.argv[3] ?? 256);
  const options = { intraOpThreads: threads, allowSpinning: false };
  const session = await createInProcessSession(join(DIR, "model.onnx"), options, join(DIR, cached));
  const config = await loadGenerationConfig(DIR);
  const signature = {
    ...readDecoderSignature(session.inputs, session.outputs, config),
    kvCache: "append" as const,
  };
  const tokenizer = await loadTextTokenizer(DIR);
  const measure = async (streams: number) => {
    const { runner, runs } = timed(session);
    const scheduler = new GenerationScheduler({
      runner,
      signature,
      tokenizer,
      maxConcurrentSequences: 16,
      emit: () => {},
    });
    for (let id = 0; id < streams; id++) scheduler.submit(id, job(tokens));
    await scheduler.idle();
    const full = runs.filter((r) => r.rows === streams);
    const walls = full.slice(1).map((r, i) => r.at - (full[i]?.at ?? 0));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    // Means too: a KV-cache regrowth (a copy of the whole cache) is a rare, long step.
    const inRun = full.slice(1).map((r) => r.ms);
    return {
      median: { wall: median(walls), inRun: median(inRun) },
      mean: { wall: mean(walls), inRun: mean(inRun) },
    };
  };
  console.log(
    `${threads} intra-op thread(s), ${tokens} tokens per stream; ms per decode step, medians`,
  );
  console.log(
    "| round | streams | wall per step, median / mean | in session.run, median / mean | rest (engine JS), mean |",
  );
  console.log("|---:|---:|---:|---:|---:|");
  const rounds = Number(process.env.BENCH_ENGINE_ROUNDS ?? 2);
  for (let round = 1; round <= rounds; round++) {
    for (const streams of (process.env.BENCH_ENGINE_STREAMS ?? "1,16").split(",").map(Number)) {
      const m = await measure(streams);
      console.log(
        `| ${round} | ${streams} | ${m.median.wall.toFixed(2)} / ${m.mean.wall.toFixed(2)} | ${m.median.inRun.toFixed(2)} / ${m.mean.inRun.toFixed(2)} | ${(m.mean.wall - m.mean.inRun).toFixed(2)} |`,
      );
    }
  }
  await session.release();
}

await main();
