/**
 * `npx tsx bench/generation-kv-modes.ts [streams] [tokens] [rounds]`: the generation
 * engine in-process (GenerativeModel: worker thread, scheduler, KV cache, detokenizer;
 * no RPC) on stories260k, loaded twice: `kv_cache: "append"` (the rewritten graph, the
 * default) and `"concat"` (the export as is). Runs `streams` concurrent greedy streams
 * of `tokens` tokens (8 prompts of different lengths, so sequences join and leave),
 * alternating the two models round by round, and prints the process's CPU time per
 * generated token, median over the rounds after the first: on a shared machine CPU time
 * moves less than wall time. Default 16 streams, 200 tokens, 5 rounds.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isGenerationFinish } from "../src/generation/generation-chunk.js";
import type { GenerativeModel } from "../src/generation/generative-model.js";
import { loadGenerativeModel } from "../src/generation/load-generative-model.js";
import { median, PROMPTS } from "./generation-streams.js";

const STORIES = resolve(
  fileURLToPath(new URL(".", import.meta.url)),
  "../../shared/models/stories260k/1",
);
const MODES = ["append", "concat"] as const;

/** CPU microseconds per token and wall tokens/s of one round. */
async function round(model: GenerativeModel, streams: number, tokens: number) {
  const perStream = Math.max(2, Math.ceil(1600 / tokens / streams));
  const [cpu, wall] = [process.cpuUsage(), performance.now()];
  let generated = 0;
  const one = async (i: number) => {
    for (let k = 0; k < perStream; k++) {
      const request = { prompt: PROMPTS[(i + k) % PROMPTS.length] ?? "", temperature: 0 };
      const stream = model.generate(
        { ...request, maxTokens: tokens, ignoreEos: true },
        new AbortController().signal,
      );
      for await (const chunk of stream)
        if (!isGenerationFinish(chunk)) generated += chunk.tokenIds.length;
    }
  };
  await Promise.all(Array.from({ length: streams }, (_, i) => one(i)));
  const used = process.cpuUsage(cpu);
  const seconds = (performance.now() - wall) / 1000;
  return { cpuUs: (used.user + used.system) / generated, tps: generated / seconds };
}

async function main(): Promise<void> {
  if (!existsSync(join(STORIES, "model.onnx"))) {
    console.error(`skipped: ${STORIES}/model.onnx not found (the shared stories260k model)`);
    return;
  }
  const [streams, tokens, rounds] = [2, 3, 4].map((i, k) =>
    Number(process.argv[i] ?? [16, 200, 5][k]),
  );
  const models = await Promise.all(
    MODES.map((kvCache) =>
      loadGenerativeModel({
        dir: STORIES,
        modelPath: "",
        maxConcurrentSequences: 64,
        maxWaiting: 1024,
        kvCache,
      }),
    ),
  );
  const results = MODES.map(() => ({ cpuUs: [] as number[], tps: [] as number[] }));
  try {
    for (let r = 0; r < (rounds ?? 5); r++) {
      for (const [i, model] of models.entries()) {
        const result = await round(model, streams ?? 16, tokens ?? 200);
        if (r === 0) continue; // warm-up
        results[i]?.cpuUs.push(result.cpuUs);
        results[i]?.tps.push(result.tps);
      }
    }
  } finally {
    for (const model of models) await model.dispose();
  }
  const [append, concat] = results.map((r) => ({ cpuUs: median(r.cpuUs), tps: median(r.tps) }));
  console.log(`| ${streams} streams x ${tokens} tokens | CPU us per token | tokens/s (wall) |`);
  console.log("|---|---:|---:|");
  console.log(
    `| kv_cache "append" (served by default: rewritten graph) | ${append?.cpuUs.toFixed(0)} | ${append?.tps.toFixed(0)} |`,
  );
  console.log(
    `| kv_cache "concat" (the export as is) | ${concat?.cpuUs.toFixed(0)} | ${concat?.tps.toFixed(0)} |`,
  );
  console.log(
    `| append / concat, CPU per token | ${((append?.cpuUs ?? 0) / (concat?.cpuUs ?? 1)).toFixed(2)} | |`,
  );
}

await main();
process.exit(0);
