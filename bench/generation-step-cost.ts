/**
 * `npx tsx bench/generation-step-cost.ts`: what one decode step of stories260k costs in
 * bare onnxruntime-node (one intra-op thread, as the server runs it) by batch size and past
 * length, for the export as it is and for the graph inferd serves by default (rewritten by
 * append-kv-rewrite.ts), alternating so that load hits both alike. The export grows its
 * KV cache by Concat inside the graph, and every `present.*` output is copied into a new
 * JS buffer, so a step moves O(batch x past) floats; the rewrite attends over past and
 * new slots separately and returns only the new ones. Also checks the binding fact that
 * rules out ORT's own shared-buffer cache (GroupQueryAttention with past = present):
 * whether onnxruntime-node returns a preallocated output as the caller's buffer.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { rewriteForAppendKv } from "../src/generation/append-kv-rewrite.js";

const STORIES = resolve(
  fileURLToPath(new URL(".", import.meta.url)),
  "../../shared/models/stories260k/1",
);
const LAYERS = 5;
const KV_HEADS = 4;
const HEAD_DIM = 8;
const BATCHES = [1, 4, 16, 64];
const PASTS = [8, 64, 256, 500];
const OPTIONS = { intraOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: "0" } } } };

async function stepMs(session: ort.InferenceSession, batch: number, past: number) {
  const feeds: Record<string, ort.Tensor> = {};
  const kv = () =>
    new ort.Tensor("float32", new Float32Array(batch * KV_HEADS * past * HEAD_DIM).fill(0.01), [
      batch,
      KV_HEADS,
      past,
      HEAD_DIM,
    ]);
  for (let i = 0; i < LAYERS; i++) {
    feeds[`past_key_values.${i}.key`] = kv();
    feeds[`past_key_values.${i}.value`] = kv();
  }
  feeds.input_ids = new ort.Tensor("int64", new BigInt64Array(batch).fill(5n), [batch, 1]);
  feeds.position_ids = new ort.Tensor("int64", new BigInt64Array(batch).fill(BigInt(past)), [
    batch,
    1,
  ]);
  const mask = new BigInt64Array(batch * (past + 1)).fill(1n);
  feeds.attention_mask = new ort.Tensor("int64", mask, [batch, past + 1]);
  for (let i = 0; i < 5; i++) await session.run(feeds);
  const reps = 50;
  const started = performance.now();
  for (let i = 0; i < reps; i++) await session.run(feeds);
  return (performance.now() - started) / reps;
}

/** Whether a preallocated `fetches` tensor comes back as the caller's own memory. */
async function fetchesAreCallersBuffer(session: ort.InferenceSession): Promise<boolean> {
  const feeds: Record<string, ort.Tensor> = {};
  const fetches: Record<string, ort.Tensor> = {};
  for (const name of session.inputNames) {
    const dims = name.startsWith("past_") ? [1, KV_HEADS, 0, HEAD_DIM] : [1, 1];
    feeds[name] = name.startsWith("past_")
      ? new ort.Tensor("float32", new Float32Array(0), dims)
      : new ort.Tensor("int64", new BigInt64Array(1), dims);
  }
  const mine = new Float32Array(KV_HEADS * HEAD_DIM);
  fetches["present.0.key"] = new ort.Tensor("float32", mine, [1, KV_HEADS, 1, HEAD_DIM]);
  const out = await session.run(feeds, fetches);
  const returned = out["present.0.key"]?.data as Float32Array;
  returned[0] = 12345;
  return mine[0] === 12345;
}

if (!existsSync(join(STORIES, "model.onnx"))) {
  console.error(`skipped: ${STORIES}/model.onnx not found (the shared stories260k model)`);
} else {
  const path = join(STORIES, "model.onnx");
  const exported = await ort.InferenceSession.create(path, OPTIONS);
  const bytes = rewriteForAppendKv(readFileSync(path));
  if (bytes === undefined) throw new Error("the rewrite did not apply to stories260k");
  const rewritten = await ort.InferenceSession.create(bytes, OPTIONS);
  console.log(
    `preallocated fetches come back as the caller's buffer: ${await fetchesAreCallersBuffer(exported)}`,
  );
  console.log("");
  console.log("ms per step, export / rewritten (ratio = how many times faster the rewrite is)");
  console.log("");
  console.log(`| batch | ${PASTS.map((p) => `past ${p}`).join(" | ")} |`);
  console.log(`|---:|${PASTS.map(() => "---:").join("|")}|`);
  for (const batch of BATCHES) {
    const cells: string[] = [];
    for (const past of PASTS) {
      const times = { exported: [] as number[], rewritten: [] as number[] };
      for (let rep = 0; rep < 3; rep++) {
        times.exported.push(await stepMs(exported, batch, past));
        times.rewritten.push(await stepMs(rewritten, batch, past));
      }
      const [a, b] = [median(times.exported), median(times.rewritten)];
      cells.push(`${a.toFixed(2)} / ${b.toFixed(2)} (${(a / b).toFixed(2)}x)`);
    }
    console.log(`| ${batch} | ${cells.join(" | ")} |`);
  }
  await Promise.all([exported.release(), rewritten.release()]);
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
