/**
 * `npx tsx bench/model-path-cpu.ts [calls] [rounds]` (defaults 5000, 5): main-thread CPU
 * per one-row mlp_small call through the model path, in process and one call at a time,
 * layer by layer: the InlineModel alone, the Predictor over it, and the Predictor over
 * the dynamic batcher with batching off and on. Each runs "warm" (calls back to back)
 * and "idle" (the thread blocks 300 µs before each call, as the server's event loop
 * does in epoll between two calls at c=1); the idle figures are net of the wait's own CPU.
 * Why: at c=1 the server's model path costs several times its c=64 share per call, and
 * this tells how much of that is the layers and how much is running cold after the
 * thread slept (ORT's own run: ~12 µs warm, ~30-40 µs after a blocking wait), without
 * sockets, so a neighbour's load moves it less than the server benchmarks.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildMlpSmallModel, MLP_SMALL_WIDTHS } from "../scripts/fixtures/mlp-small-model.js";
import { createDynamicBatcher } from "../src/batching/dynamic-batcher.js";
import { createPredictor, type PredictCall } from "../src/inference/predictor.js";
import type { Servable } from "../src/registry/model-registry.js";
import type { LoadedModel, TensorMap } from "../src/runtime/model-runtime.js";
import { createOnnxRuntime } from "../src/runtime/onnx-runtime.js";
import { createFakeRegistry } from "../test/helpers/fake-registry.js";

const [calls = 5000, rounds = 5] = process.argv.slice(2, 4).map(Number);
const width = MLP_SMALL_WIDTHS[0] as number;
const dir = await mkdtemp(join(tmpdir(), "model-path-cpu-"));
const path = join(dir, "mlp_small.onnx");
await writeFile(path, buildMlpSmallModel());
const runtime = createOnnxRuntime();
const model = await runtime.load({
  modelPath: path,
  instanceCount: 1,
  session: {},
  execution: "inline",
});

/** A predict servable over `loaded`, as the registry hands one out. */
const servable = (loaded: LoadedModel): Servable & LoadedModel => ({
  kind: "predict",
  inputs: loaded.inputs,
  outputs: loaded.outputs,
  get pending() {
    return loaded.pending;
  },
  run: (...args) => loaded.run(...args),
  dispose: async () => {},
});
const off = createDynamicBatcher(model, { maxBatchSize: 0, instanceCount: 1 });
const on = createDynamicBatcher(model, { maxBatchSize: 64, instanceCount: 1 });
const registry = createFakeRegistry([
  { name: "inline", version: 1, servable: servable(model) },
  { name: "off", version: 1, servable: servable(off) },
  { name: "on", version: 1, servable: servable(on) },
]);
const predictor = createPredictor({ registry, onResult: () => {} });
const signal = new AbortController().signal;
const row = (): TensorMap => ({
  x: { dtype: "float32", dims: [1, width], data: new Float32Array(width).fill(0.5) },
});
const call = (name: string): PredictCall => ({
  model: name,
  inputs: { x: { dims: [1, width], values: { kind: "float", data: new Array(width).fill(0.5) } } },
  requestId: "bench",
});

const targets: Record<string, (() => Promise<unknown>) | undefined> = {
  "wait only": undefined,
  "inline model": () => model.run(row(), []),
  "predictor, inline": () => predictor.predict(call("inline"), signal),
  "predictor, batcher off": () => predictor.predict(call("off"), signal),
  "predictor, batcher on": () => predictor.predict(call("on"), signal),
};

const waitCell = new Int32Array(new SharedArrayBuffer(4));

/** CPU µs per call of `run`, the thread blocking `idleMs` before each call. */
async function measure(run: (() => Promise<unknown>) | undefined, idleMs: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) {
    if (idleMs > 0) Atomics.wait(waitCell, 0, 0, idleMs);
    if (run) await run();
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / calls;
}

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const results = new Map<string, { warm: number[]; idle: number[] }>();
for (let r = 0; r < rounds; r++) {
  for (const [name, run] of Object.entries(targets)) {
    const entry = results.get(name) ?? { warm: [], idle: [] };
    entry.warm.push(await measure(run, 0));
    entry.idle.push(await measure(run, 0.3));
    results.set(name, entry);
  }
}
const waitCpu = median(results.get("wait only")?.idle ?? []);
console.log(`mlp_small, one row, ${calls} calls x ${rounds} rounds (medians)\n`);
console.log("| path | warm µs/call | idle µs/call (net of the wait) |\n|---|---:|---:|");
for (const [name, { warm, idle }] of results) {
  if (name === "wait only") continue;
  console.log(`| ${name} | ${median(warm).toFixed(1)} | ${(median(idle) - waitCpu).toFixed(1)} |`);
}
console.log(`\nthe 300 µs blocking wait alone: ${waitCpu.toFixed(1)} µs CPU`);
await Promise.all([off.dispose(), on.dispose()]);
await model.dispose();
await rm(dir, { recursive: true, force: true });
