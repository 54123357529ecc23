/**
 * `npx tsx bench/inline-run-cpu.ts [groups] [rounds]` (defaults 2000, 5): main-thread CPU
 * per one-row run of mlp_small on an inline model, in process, for waves of 64
 * concurrent calls (what c=64 hands the batcher per turn): the bare ORT session, the
 * InlineModel, and the dynamic batcher in front of it with batching off and on.
 * Why: on a loaded shared machine the server benchmarks measure the neighbours; the
 * CPU these layers burn per call, without sockets, isolates what the run path costs.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { buildMlpSmallModel, MLP_SMALL_WIDTHS } from "../scripts/fixtures/mlp-small-model.js";
import { createDynamicBatcher } from "../src/batching/dynamic-batcher.js";
import type { TensorMap } from "../src/runtime/model-runtime.js";
import { createOnnxRuntime } from "../src/runtime/onnx-runtime.js";

const [groups = 2000, rounds = 5] = process.argv.slice(2, 4).map(Number);
const WAVE = 64;
const width = MLP_SMALL_WIDTHS[0] as number;
const dir = await mkdtemp(join(tmpdir(), "inline-run-cpu-"));
const path = join(dir, "mlp_small.onnx");
await writeFile(path, buildMlpSmallModel());
const row = (): TensorMap => ({
  x: { dtype: "float32", dims: [1, width], data: new Float32Array(width).fill(0.5) },
});

const bare = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
const model = await createOnnxRuntime().load({
  modelPath: path,
  instanceCount: 1,
  session: {},
  execution: "inline",
});
const runs = model.execution?.concurrentRuns ?? 1;
const off = createDynamicBatcher(model, { maxBatchSize: 0, instanceCount: runs });
const on = createDynamicBatcher(model, { maxBatchSize: 64, instanceCount: 1 });

const targets: Record<string, () => Promise<unknown>> = {
  "bare ort": () =>
    bare.run({ x: new ort.Tensor("float32", new Float32Array(width).fill(0.5), [1, width]) }),
  inline: () => model.run(row(), []),
  "batcher off": () => off.run(row(), [], new AbortController().signal),
  "batcher on": () => on.run(row(), [], new AbortController().signal),
};

async function measure(run: () => Promise<unknown>): Promise<number> {
  const start = process.cpuUsage();
  for (let g = 0; g < groups; g++) await Promise.all(Array.from({ length: WAVE }, run));
  const used = process.cpuUsage(start);
  return (used.user + used.system) / (groups * WAVE);
}

const results: Record<string, number[]> = {};
for (let r = 0; r < rounds; r++) {
  for (const [name, run] of Object.entries(targets)) {
    const taken = await measure(run);
    results[name] = [...(results[name] ?? []), taken];
  }
}
for (const [name, values] of Object.entries(results)) {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  console.log(
    `${name}: ${median.toFixed(2)} µs/run (${values.map((v) => v.toFixed(1)).join(", ")})`,
  );
}
await Promise.all([off.dispose(), on.dispose(), bare.release()]);
await rm(dir, { recursive: true, force: true });
