/**
 * `npx tsx bench/generation-step-cost.ts`: what one decode step of stories260k costs in
 * bare onnxruntime-node (one intra-op thread, as the server runs it) by batch size and past
 * length. Shows where batching stops paying: the export grows its KV cache by Concat
 * inside the graph (and repeats KV heads for grouped-query attention), and every
 * `present.*` output is copied into a new JS buffer, so a step moves O(batch x past)
 * floats whatever the server does.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";

const STORIES = resolve(
  fileURLToPath(new URL(".", import.meta.url)),
  "../../shared/models/stories260k/1",
);
const LAYERS = 5;
const KV_HEADS = 4;
const HEAD_DIM = 8;
const BATCHES = [1, 4, 16, 64];
const PASTS = [8, 64, 256, 500];

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
  const reps = 100;
  const started = performance.now();
  for (let i = 0; i < reps; i++) await session.run(feeds);
  return (performance.now() - started) / reps;
}

if (!existsSync(join(STORIES, "model.onnx"))) {
  console.error(`skipped: ${STORIES}/model.onnx not found (the shared stories260k model)`);
} else {
  const session = await ort.InferenceSession.create(join(STORIES, "model.onnx"), {
    intraOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  });
  console.log(`| batch | ${PASTS.map((p) => `past ${p}: ms/step (tok/s)`).join(" | ")} |`);
  console.log(`|---:|${PASTS.map(() => "---:").join("|")}|`);
  for (const batch of BATCHES) {
    const cells: string[] = [];
    for (const past of PASTS) {
      const ms = await stepMs(session, batch, past);
      cells.push(`${ms.toFixed(2)} (${Math.round((batch * 1000) / ms).toLocaleString("en-US")})`);
    }
    console.log(`| ${batch} | ${cells.join(" | ")} |`);
  }
  await session.release();
}
