/**
 * `npx tsx bench/generation-step-profile.ts [batch] [past]`: where one decode step of
 * stories260k spends its time in bare onnxruntime-node (default batch 16, past 256),
 * and whether two levers the server could pull move it: output tensors allocated once
 * and passed as `fetches` (no copy of `present.*` into new JS buffers), and a second
 * intra-op thread. Prints ORT's per-operator kernel time (its profiler) and, for each
 * variant, the mean ms per step, alternating runs so machine load hits all alike.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";

const MODEL = resolve(
  fileURLToPath(new URL(".", import.meta.url)),
  "../../shared/models/stories260k/1/model.onnx",
);
const [LAYERS, KV_HEADS, HEAD_DIM, VOCAB] = [5, 4, 8, 512];
const batch = Number(process.argv[2] ?? 16);
const past = Number(process.argv[3] ?? 256);

type Feeds = Record<string, ort.Tensor>;

function kv(length: number): ort.Tensor {
  const dims = [batch, KV_HEADS, length, HEAD_DIM];
  return new ort.Tensor("float32", new Float32Array(batch * KV_HEADS * length * HEAD_DIM), dims);
}

function feeds(): Feeds {
  const out: Feeds = {
    input_ids: new ort.Tensor("int64", new BigInt64Array(batch).fill(5n), [batch, 1]),
    position_ids: new ort.Tensor("int64", new BigInt64Array(batch).fill(BigInt(past)), [batch, 1]),
    attention_mask: new ort.Tensor("int64", new BigInt64Array(batch * (past + 1)).fill(1n), [
      batch,
      past + 1,
    ]),
  };
  for (let i = 0; i < LAYERS; i++) {
    out[`past_key_values.${i}.key`] = kv(past);
    out[`past_key_values.${i}.value`] = kv(past);
  }
  return out;
}

/** Output tensors allocated once, for ORT to write into (onnxruntime-node `fetches`). */
function fetches(): Feeds {
  const out: Feeds = {
    logits: new ort.Tensor("float32", new Float32Array(batch * VOCAB), [batch, 1, VOCAB]),
  };
  for (let i = 0; i < LAYERS; i++) {
    out[`present.${i}.key`] = kv(past + 1);
    out[`present.${i}.value`] = kv(past + 1);
  }
  return out;
}

function session(threads: number, profile?: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(MODEL, {
    intraOpNumThreads: threads,
    extra: { session: { intra_op: { allow_spinning: "0" } } },
    ...(profile && { enableProfiling: true, profileFilePrefix: profile }),
  });
}

async function msPerStep(run: () => Promise<unknown>, steps = 150): Promise<number> {
  for (let i = 0; i < 5; i++) await run();
  const started = performance.now();
  for (let i = 0; i < steps; i++) await run();
  return (performance.now() - started) / steps;
}

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

/** Kernel microseconds per step, by operator type, from ORT's profiler. */
async function kernelTimes(): Promise<[string, number][]> {
  const dir = mkdtempSync(join(tmpdir(), "inferd-step-profile-"));
  const profiled = await session(1, join(dir, "ort"));
  const input = feeds();
  const steps = 100;
  for (let i = 0; i < steps; i++) await profiled.run(input);
  profiled.endProfiling(); // writes <prefix>_<date>.json
  await profiled.release();
  const file = readdirSync(dir).find((f) => f.endsWith(".json"));
  if (file === undefined) throw new Error(`onnxruntime wrote no profile into ${dir}`);
  const events = JSON.parse(readFileSync(join(dir, file), "utf8")) as ProfileEvent[];
  rmSync(dir, { recursive: true, force: true });
  const byOp = new Map<string, number>();
  for (const e of events) {
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
    const op = e.args?.op_name ?? "?";
    byOp.set(op, (byOp.get(op) ?? 0) + e.dur / steps);
  }
  return [...byOp].sort((a, b) => b[1] - a[1]);
}

if (!existsSync(MODEL)) {
  console.error(`skipped: ${MODEL} not found (the shared stories260k model)`);
} else {
  const kernels = await kernelTimes();
  const total = kernels.reduce((sum, [, us]) => sum + us, 0);
  console.log(`batch ${batch}, past ${past}: ${(total / 1000).toFixed(2)} ms of kernels per step`);
  console.log("| operator | µs per step | share |\n|---|---:|---:|");
  for (const [op, us] of kernels.slice(0, 8)) {
    console.log(`| ${op} | ${us.toFixed(0)} | ${((100 * us) / total).toFixed(1)} % |`);
  }
  const one = await session(1);
  const two = await session(2);
  const input = feeds();
  const output = fetches();
  const variants: [string, () => Promise<unknown>][] = [
    ["one thread, outputs allocated per run (the server)", () => one.run(input)],
    ["one thread, preallocated outputs (fetches)", () => one.run(input, output)],
    ["two intra-op threads, no spinning", () => two.run(input)],
  ];
  const times = variants.map((): number[] => []);
  for (let round = 0; round < 3; round++) {
    for (const [i, [, run]] of variants.entries()) times[i]?.push(await msPerStep(run));
  }
  console.log("\n| variant | ms per step, 3 alternating runs |\n|---|---|");
  for (const [i, [name]] of variants.entries()) {
    console.log(`| ${name} | ${(times[i] ?? []).map((ms) => ms.toFixed(2)).join(", ")} |`);
  }
  await Promise.all([one.release(), two.release()]);
}
