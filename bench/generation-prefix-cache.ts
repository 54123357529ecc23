/**
 * Prefix-cache bench (`npx tsx bench/generation-prefix-cache.ts`): time to first token
 * of a request whose ~480-token prefix a previous request already prefilled, against
 * that previous one's (issue 17's target: at most 0.25x), on stories260k (context 512)
 * and, when written, the wide LLM fixture (test/.output/llm-models/wide: SmolLM2-135M's
 * width on 2 layers). In process, one generation worker per model, greedy, 1 token each;
 * each repetition uses a prefix no earlier one shared, so every first request misses.
 */
import { existsSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { GenerativeModel } from "../src/generation/generative-model.js";
import { loadGenerativeModel } from "../src/generation/load-generative-model.js";
import type { WorkerGenerativeModel } from "../src/generation/worker-generative-model.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const MODELS = [
  { name: "stories260k", dir: resolve(HERE, "../../shared/models/stories260k/1") },
  { name: "wide fixture", dir: resolve(HERE, "../test/.output/llm-models/wide/1") },
];
const PREFIX = 480;
const REPS = 7;

async function ttft(model: GenerativeModel, ids: number[]): Promise<number> {
  const start = performance.now();
  const request = { promptTokenIds: ids, temperature: 0, maxTokens: 1, ignoreEos: true };
  for await (const _ of model.generate(request, new AbortController().signal)) {
    return performance.now() - start;
  }
  return Number.NaN;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function bench(name: string, dir: string): Promise<void> {
  const vocab = (
    JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { vocab_size: number }
  ).vocab_size;
  const model = await loadGenerativeModel({
    dir,
    modelPath: join(dir, "model.onnx"),
    maxConcurrentSequences: 4,
    maxWaiting: 4,
    prefixCacheBytes: 256 * 1024 * 1024,
  });
  const firsts: number[] = [];
  const seconds: number[] = [];
  // One warm-up run (session, allocator) before any timing.
  await ttft(model, [1, 5, 6]);
  for (let rep = 0; rep < REPS; rep++) {
    const prefix = Array.from(
      { length: PREFIX },
      (_, i) => 3 + ((i * 37 + rep * 101) % (vocab - 3)),
    );
    firsts.push(await ttft(model, [1, ...prefix, 10, 11, 12, 13]));
    seconds.push(await ttft(model, [1, ...prefix, 20, 21, 22, 23, 24]));
  }
  const stats = (model as WorkerGenerativeModel).prefixCacheStats();
  await model.dispose();
  const [a, b] = [median(firsts), median(seconds)];
  console.log(
    `${name}: ${PREFIX + 5}-token prompt, TTFT median of ${REPS}: first ${a.toFixed(1)} ms, second (shared ${PREFIX + 1}-token prefix) ${b.toFixed(1)} ms, ratio ${(b / a).toFixed(3)}; tokens saved ${stats?.tokensSaved}`,
  );
}

console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
for (const { name, dir } of MODELS) {
  if (existsSync(join(dir, "model.onnx"))) await bench(name, dir);
  else console.log(`${name}: skipped, ${dir} absent`);
}
