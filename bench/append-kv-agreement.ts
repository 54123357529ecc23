/**
 * How far greedy decoding on the append-KV rewrite agrees with the export's concat
 * cache, at two MatMulNBits accuracy levels: `npx tsx bench/append-kv-agreement.ts
 * <model dir> [steps]` (default: the 135M fixture's int4 copy, 300 steps). For each of
 * concat@4, append@4, concat@0, append@0 (served as inferd's decoder session serves
 * them, one stream, 2 intra-op threads): the free-running greedy ids from a 5-id
 * prompt (modulo the vocabulary), the step where they first part from concat@4's and from concat@0's, and the
 * teacher-forced argmax agreement (fed concat@0's greedy ids, so each position sees
 * the same context) with concat@4 and concat@0. Level 4 rounds activations to int8:
 * the rewrite's reordered float32 sums may flip a rounding, which a greedy stream then
 * follows; teacher forcing shows how often an argmax itself moves.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { openDecoderSession } from "../src/generation/decoder-load/decoder-session.js";
import { runDecoderStep } from "../src/generation/engine/decoder-step.js";
import { KvCache } from "../src/generation/engine/kv-cache.js";
import { loadGenerationConfig } from "../src/generation/request/generation-config.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const DIR = process.argv[2] ?? resolve(here, "../test/.output/llm-models/smollm_135m_q4/1");
const STEPS = Number(process.argv[3] ?? 300);
const PROMPT = [1, 260, 1000, 5000, 20_000];
const CONFIGS = [
  { kvCache: "concat", level: 4 },
  { kvCache: "append", level: 4 },
  { kvCache: "concat", level: 0 },
  { kvCache: "append", level: 0 },
] as const;

function argmax(v: Float32Array): number {
  let best = 0;
  for (let j = 1; j < v.length; j++) if ((v[j] ?? 0) > (v[best] ?? 0)) best = j;
  return best;
}

/** The argmax after the prompt and after each of `forced` (or the model's own choice when absent). */
async function decode(config: (typeof CONFIGS)[number], forced?: readonly number[]) {
  const edits = { matmulNBitsAccuracyLevel: config.level };
  const generation = await loadGenerationConfig(DIR);
  const path = resolve(DIR, "model.onnx");
  const opened = await openDecoderSession(
    path,
    { intraOpThreads: 2 },
    generation,
    config.kvCache,
    edits,
  );
  if (opened.signature.kvCache !== config.kvCache)
    throw new Error(`served ${opened.signature.kvCache}: ${opened.kvCacheNote}`);
  try {
    let step = await runDecoderStep(opened.session, KvCache.empty(opened.signature, 1), [
      PROMPT.map((id) => id % opened.signature.vocabSize),
    ]);
    const ids: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      ids.push(argmax(step.logits[0] ?? new Float32Array()));
      const next = forced?.[i] ?? ids[i] ?? 0;
      step = await runDecoderStep(opened.session, step.cache, [[next]]);
    }
    return ids;
  } finally {
    await opened.session.release();
  }
}

const parts = (a: readonly number[], b: readonly number[]) => {
  const i = a.findIndex((x, k) => x !== b[k]);
  return i < 0 ? `never in ${a.length}` : `step ${i + 1}`;
};
const agree = (a: readonly number[], b: readonly number[]) =>
  `${((100 * a.filter((x, k) => x === b[k]).length) / a.length).toFixed(1)}%`;

const free = new Map<string, number[]>();
for (const c of CONFIGS) free.set(`${c.kvCache}@${c.level}`, await decode(c));
const reference = free.get("concat@0") ?? [];
const forced = new Map<string, number[]>();
for (const c of CONFIGS) forced.set(`${c.kvCache}@${c.level}`, await decode(c, reference));
console.log(`${DIR}, ${STEPS} steps, prompt ${PROMPT.join(" ")}`);
console.log(
  "| served | greedy ids part from concat@4 | from concat@0 | teacher-forced argmax = concat@4 | = concat@0 |",
);
console.log("|---|---:|---:|---:|---:|");
for (const [name, ids] of free) {
  const f = forced.get(name) ?? [];
  console.log(
    `| ${name} | ${parts(ids, free.get("concat@4") ?? [])} | ${parts(ids, reference)} | ${agree(f, forced.get("concat@4") ?? [])} | ${agree(f, forced.get("concat@0") ?? [])} |`,
  );
}
