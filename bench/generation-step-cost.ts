/**
 * `npx tsx bench/generation-step-cost.ts`: what one decode step costs in bare
 * onnxruntime-node (one intra-op thread, as the server runs it) by batch size and past
 * length, for a decoder as exported and as inferd serves it by default (rewritten by
 * append-kv-rewrite.ts), alternating so that load hits both alike. The export grows its
 * KV cache by Concat inside the graph, and every `present.*` output is copied into a new
 * JS buffer, so a step moves O(batch x past) floats; the rewrite attends over past and
 * new slots separately and returns only the new ones. Two models: stories260k (when
 * ../shared has it) and a wider random-weight decoder built by the fixture code, whose
 * KV cache per token (8 layers x 4 KV heads x 64) is that of a 100M-parameter-class
 * model. Also checks the binding fact that rules out ORT's own shared-buffer cache
 * (GroupQueryAttention with past = present): whether onnxruntime-node returns a
 * preallocated output as the caller's buffer.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { buildTinyLlamaModel } from "../scripts/fixtures/tiny-llama-model.js";
import { createTinyLlamaWeights } from "../scripts/fixtures/tiny-llama-weights.js";
import { rewriteForAppendKv } from "../src/generation/kv-rewrite/append-kv-rewrite.js";
import { median } from "./generation-streams.js";

const STORIES = resolve(
  fileURLToPath(new URL(".", import.meta.url)),
  "../../shared/models/stories260k/1/model.onnx",
);
const OPTIONS = { intraOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: "0" } } } };
const WIDE = {
  ...{ numLayers: 8, numHeads: 8, numKvHeads: 4, headDim: 64, hidden: 512 },
  ...{ intermediate: 1024, maxPositions: 2048, rmsEps: 1e-5 },
};

interface Model {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly batches: readonly number[];
  readonly pasts: readonly number[];
}

async function stepMs(session: ort.InferenceSession, m: Model, batch: number, past: number) {
  const feeds: Record<string, ort.Tensor> = {};
  const dims = [batch, m.kvHeads, past, m.headDim];
  const kv = () =>
    new ort.Tensor(
      "float32",
      new Float32Array(batch * m.kvHeads * past * m.headDim).fill(0.01),
      dims,
    );
  for (let i = 0; i < m.layers; i++) {
    feeds[`past_key_values.${i}.key`] = kv();
    feeds[`past_key_values.${i}.value`] = kv();
  }
  feeds.input_ids = new ort.Tensor("int64", new BigInt64Array(batch).fill(5n), [batch, 1]);
  const positions = new BigInt64Array(batch).fill(BigInt(past));
  feeds.position_ids = new ort.Tensor("int64", positions, [batch, 1]);
  const mask = new BigInt64Array(batch * (past + 1)).fill(1n);
  feeds.attention_mask = new ort.Tensor("int64", mask, [batch, past + 1]);
  for (let i = 0; i < 3; i++) await session.run(feeds);
  const reps = 20;
  const started = performance.now();
  for (let i = 0; i < reps; i++) await session.run(feeds);
  return (performance.now() - started) / reps;
}

/** Whether a preallocated `fetches` tensor comes back as the caller's own memory. */
async function fetchesAreCallersBuffer(session: ort.InferenceSession, m: Model): Promise<boolean> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of session.inputNames) {
    feeds[name] = name.startsWith("past_")
      ? new ort.Tensor("float32", new Float32Array(0), [1, m.kvHeads, 0, m.headDim])
      : new ort.Tensor("int64", new BigInt64Array(1), [1, 1]);
  }
  const mine = new Float32Array(m.kvHeads * m.headDim);
  const fetches = {
    "present.0.key": new ort.Tensor("float32", mine, [1, m.kvHeads, 1, m.headDim]),
  };
  const out = await session.run(feeds, fetches);
  const returned = out["present.0.key"]?.data as Float32Array;
  returned[0] = 12345;
  return mine[0] === 12345;
}

function models(): Model[] {
  const wide = buildTinyLlamaModel(createTinyLlamaWeights(512, 7, WIDE));
  const out: Model[] = [];
  if (existsSync(STORIES)) {
    const grid = { batches: [1, 4, 16, 64], pasts: [8, 64, 256, 500] };
    out.push({
      name: "stories260k",
      bytes: readFileSync(STORIES),
      layers: 5,
      kvHeads: 4,
      headDim: 8,
      ...grid,
    });
  } else {
    console.log(`stories260k skipped: ${STORIES} not found (the shared model)`);
  }
  const grid = { batches: [1, 16], pasts: [16, 256, 1024] };
  const name = "wide random decoder (8 layers, hidden 512, 4 KV heads x 64; random weights)";
  out.push({ name, bytes: wide, layers: 8, kvHeads: 4, headDim: 64, ...grid });
  return out;
}

for (const m of models()) {
  const exported = await ort.InferenceSession.create(m.bytes, OPTIONS);
  const bytes = rewriteForAppendKv(m.bytes)?.bytes;
  if (bytes === undefined) throw new Error(`the rewrite did not apply to ${m.name}`);
  const rewritten = await ort.InferenceSession.create(bytes, OPTIONS);
  console.log(`\n### ${m.name}\n`);
  console.log(
    `preallocated fetches come back as the caller's buffer: ${await fetchesAreCallersBuffer(exported, m)}\n`,
  );
  console.log("ms per step, export / rewritten (ratio: how many times faster the rewrite is)\n");
  console.log(`| batch | ${m.pasts.map((p) => `past ${p}`).join(" | ")} |`);
  console.log(`|---:|${m.pasts.map(() => "---:").join("|")}|`);
  for (const batch of m.batches) {
    const cells: string[] = [];
    for (const past of m.pasts) {
      const times = { exported: [] as number[], rewritten: [] as number[] };
      for (let rep = 0; rep < 3; rep++) {
        times.exported.push(await stepMs(exported, m, batch, past));
        times.rewritten.push(await stepMs(rewritten, m, batch, past));
      }
      const [a, b] = [median(times.exported), median(times.rewritten)];
      cells.push(`${a.toFixed(2)} / ${b.toFixed(2)} (${(a / b).toFixed(2)}x)`);
    }
    console.log(`| ${batch} | ${cells.join(" | ")} |`);
  }
  await Promise.all([exported.release(), rewritten.release()]);
}
