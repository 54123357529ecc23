/**
 * The floor of issue 17's item 4 (a long prompt among decoding streams: their inter-token
 * p99 <= 3x their median, its TTFT <= 1.3x a bare prefill): the bare onnxruntime-node run
 * of the graph inferd serves (the append-KV rewrite, last-position logits) over one
 * chunk of C prompt tokens, as the prompt's first chunk and as its last (which attends
 * over everything before it).
 *
 * Whatever a scheduler does, each chunk is one run of the session the streams decode on,
 * so a stream's gap that spans the last chunk lasts at least its run, even if the decode
 * rows rode in the chunk's run for free (vLLM packs them so); and the prompt's TTFT is at
 * least the sum of its chunks' runs. With m the streams' median gap and P the bare
 * prefill of the whole prompt, both lines can hold only if some C has a last chunk of at
 * most 3m and a sum of chunks of at most 1.3 P. The p99 of a stream's gaps falls among
 * the late chunks' gaps: the prefill's chunk gaps are about a tenth of them. The report
 * prints both per C, beside what alternating whole chunks with the streams' decode steps
 * (inferd's scheduler) gets, and says whether any C meets them.
 */
import * as ort from "onnxruntime-node";
import { withHeadroom } from "../src/generation/engine/kv-cache.js";
import { appendKvGraph, kvShape } from "./generation-floor.js";
import { median } from "./generation-streams.js";

/** Chunk sizes timed by default: from a few tokens to the whole-prompt end. */
export const FLOOR_CHUNKS: readonly number[] = [8, 16, 32, 48, 64, 96, 128, 256, 512];

/** The median wall ms of a chunk's run, first (no past) and last (after n - C tokens). */
export interface ChunkCost {
  readonly firstMs: number;
  readonly lastMs: number;
}

/**
 * Times the served graph's run over a chunk of C tokens for each C, as the first chunk
 * of an `n`-token prompt and as its last (attending over the n - C tokens before it: a
 * chunk's attention grows with what came before, the rest of its cost does not).
 */
export async function measureChunkCosts(
  versionDir: string,
  options: ort.InferenceSession.SessionOptions,
  n: number,
  chunks: readonly number[] = FLOOR_CHUNKS,
  reps = 5,
): Promise<Map<number, ChunkCost>> {
  const graph = await appendKvGraph(versionDir);
  const session = await ort.InferenceSession.create(graph.path, options);
  const time = async (feeds: Record<string, ort.Tensor>) => {
    await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const started = performance.now();
      await session.run(feeds);
      times.push(performance.now() - started);
    }
    return median(times);
  };
  const shape = kvShape(versionDir);
  const costs = new Map<number, ChunkCost>();
  try {
    for (const c of chunks.filter((c) => c <= n)) {
      const firstMs = await time(chunkFeeds(shape, c, 0));
      costs.set(c, { firstMs, lastMs: await time(chunkFeeds(shape, c, n - c)) });
    }
  } finally {
    await session.release();
    await graph.dispose();
  }
  return costs;
}

/**
 * The engine's feeds for a chunk of `n` tokens after `history` (decoder-step.ts): the
 * appending cache's slots (its spare ones masked; an empty cache holds one), then the
 * chunk's, positions `history` to `history + n - 1`.
 */
function chunkFeeds(
  { layers, heads, dim }: ReturnType<typeof kvShape>,
  n: number,
  history: number,
): Record<string, ort.Tensor> {
  const capacity = history === 0 ? 1 : withHeadroom(history);
  const feeds: Record<string, ort.Tensor> = {};
  for (let i = 0; i < layers; i++) {
    for (const kind of ["key", "value"]) {
      const data = Float32Array.from({ length: heads * capacity * dim }, (_, k) => (k % 7) / 7);
      feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor("float32", data, [
        1,
        heads,
        capacity,
        dim,
      ]);
    }
  }
  const mask = new BigInt64Array(capacity + n);
  mask.fill(1n, 0, history).fill(1n, capacity);
  const ids = (at: (i: number) => number) =>
    new ort.Tensor(
      "int64",
      BigInt64Array.from({ length: n }, (_, i) => BigInt(at(i))),
      [1, n],
    );
  feeds.input_ids = ids((i) => 3 + ((i * 37) % 1000));
  feeds.attention_mask = new ort.Tensor("int64", mask, [1, capacity + n]);
  feeds.position_ids = ids((i) => history + i);
  return feeds;
}

/** What the bounds are computed from: the chunk costs, the streams' median gap, the prompt. */
export interface ChunkFloorFigures {
  readonly costs: ReadonlyMap<number, ChunkCost>;
  /** The streams' median inter-token gap with no long prompt, ms. */
  readonly medianGapMs: number;
  readonly promptLength: number;
  /** The bare prefill of the whole prompt, ms (the TTFT line's reference). */
  readonly bareMs: number;
}

/**
 * The floor's Markdown lines, per chunk size: the least gap and TTFT any schedule gets
 * (the decode rows riding in the chunk's run for free, as vLLM packs them), and what
 * alternating whole chunks with decode steps of the streams (inferd's scheduler) gets:
 * a gap of t(C) + m, and a decode step after every chunk but the last.
 */
export function chunkFloorLines(f: ChunkFloorFigures): string[] {
  const x = (n: number) => `${n.toFixed(2)}x`;
  const m = f.medianGapMs;
  const rows = [...f.costs].map(([c, { firstMs, lastMs }]) => {
    const chunks = Math.ceil(f.promptLength / c);
    // A chunk's cost is affine in what came before it: the chunks' mean is the midpoint.
    const prefill = (chunks * (firstMs + lastMs)) / 2;
    const packed = { gap: lastMs / m, ttft: prefill / f.bareMs };
    const alternating = { gap: (lastMs + m) / m, ttft: (prefill + (chunks - 1) * m) / f.bareMs };
    return { c, firstMs, lastMs, packed, alternating };
  });
  const meets = (b: { gap: number; ttft: number }) => b.gap <= 3 && b.ttft <= 1.3;
  const verdict = (b: { gap: number; ttft: number }) => (meets(b) ? "both" : "no");
  const cell = (b: { gap: number; ttft: number }) => `${x(b.gap)} / ${x(b.ttft)} (${verdict(b)})`;
  const any = (pick: (r: (typeof rows)[number]) => { gap: number; ttft: number }) =>
    rows.some((r) => meets(pick(r)))
      ? "some chunk size meets both lines"
      : "no chunk size meets both lines";
  return [
    `chunked-prefill floor: the served graph's run over a chunk of C tokens, first and last of the prompt (bare, same session options), against the streams' median gap with no long prompt (m = ${m.toFixed(1)} ms) and the bare prefill of the ${f.promptLength}-token prompt (P = ${f.bareMs.toFixed(0)} ms); targets: gap / m <= 3, TTFT / P <= 1.3`,
    "",
    "| chunk C | first / last chunk ms | decode rows in the chunk's run: last chunk's gap / m, TTFT / P | alternating chunks and decode steps: gap / m, TTFT / P |",
    "|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.c} | ${r.firstMs.toFixed(1)} / ${r.lastMs.toFixed(1)} | ${cell(r.packed)} | ${cell(r.alternating)} |`,
    ),
    "",
    `Decode rows riding in the chunk's run: ${any((r) => r.packed)}; alternating whole chunks with decode steps: ${any((r) => r.alternating)}.`,
  ];
}
