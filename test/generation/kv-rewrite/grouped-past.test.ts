import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { createGraphBuilder } from "../../../scripts/fixtures/onnx-graph-builder.js";
import { buildTinyLlamaModel } from "../../../scripts/fixtures/tiny-llama-model.js";
import { createTinyLlamaWeights } from "../../../scripts/fixtures/tiny-llama-weights.js";
import { rewriteForAppendKv } from "../../../src/generation/kv-rewrite/append-kv-rewrite.js";
import { OnnxGraph } from "../../../src/onnx/onnx-graph.js";
import { maxAbsDiff } from "../../fixtures/ort-helpers.js";

const [HEADS, KV_HEADS, DIM] = [4, 2, 2];

/**
 * One GQA layer as Hugging Face's eager attention exports it: repeat_kv
 * (Unsqueeze(2) → Expand → Reshape) on the grown cache, then the keys' transpose;
 * `keyScale` multiplies the repeated keys by a scalar, or by one factor per query head
 * (which is not the same on every KV head's copies, so the grouped form must not apply).
 */
function gqaLayer(keyScale: "scalar" | "per-head"): Uint8Array {
  const g = createGraphBuilder("gqa_layer");
  g.initializer("axes_2", BigInt64Array.from([2n]), [1]);
  g.initializer(
    "repeat",
    BigInt64Array.from([1n, 2n, 2n, -1n, 2n].map((v) => (v < 0 ? 1n : v))),
    [5],
  );
  g.initializer("heads_shape", BigInt64Array.from([1n, 4n, -1n, 2n]), [4]);
  const scale = keyScale === "scalar" ? [0.5] : [0.5, 1, 2, -1];
  g.initializer("scale", Float32Array.from(scale), keyScale === "scalar" ? [] : [1, HEADS, 1, 1]);
  for (const kind of ["key", "value"]) {
    g.input(`past_key_values.0.${kind}`, "float32", [1, KV_HEADS, "past", DIM]);
    g.input(`new_${kind}`, "float32", [1, KV_HEADS, 1, DIM]);
    g.node("Concat", [`past_key_values.0.${kind}`, `new_${kind}`], [`present.0.${kind}`], {
      axis: 2,
    });
    g.node("Unsqueeze", [`present.0.${kind}`, "axes_2"], [`${kind}_5d`]);
    // Expand to [1, kvh, rep, total, dim]: the total comes from the cache's own shape.
    g.node("Shape", [`present.0.${kind}`], [`${kind}_shape`]);
    g.node("Gather", [`${kind}_shape`, "axes_2"], [`${kind}_total`], { axis: 0 });
    g.node("ScatterElements", ["repeat", "three", `${kind}_total`], [`${kind}_target`], {
      axis: 0,
    });
    g.node("Expand", [`${kind}_5d`, `${kind}_target`], [`${kind}_rep5`]);
    g.node("Reshape", [`${kind}_rep5`, "heads_shape"], [`${kind}_rep`]);
  }
  g.initializer("three", BigInt64Array.from([3n]), [1]);
  g.node("Mul", ["key_rep", "scale"], ["key_scaled"]);
  g.node("Transpose", ["key_scaled"], ["kt"], { perm: [0, 1, 3, 2] });
  g.input("query", "float32", [1, HEADS, 1, DIM]);
  g.node("MatMul", ["query", "kt"], ["scores"]);
  g.node("Softmax", ["scores"], ["probs"], { axis: -1 });
  g.node("MatMul", ["probs", "value_rep"], ["context"]);
  g.output("context", "float32", [1, HEADS, 1, DIM]);
  g.output("present.0.key", "float32", [1, KV_HEADS, "total", DIM]);
  g.output("present.0.value", "float32", [1, KV_HEADS, "total", DIM]);
  return g.toBytes(17);
}

/** Expand nodes on a past_key_values input's way to attention (the walk stops at MatMuls). */
function expandsOfThePast(bytes: Uint8Array): number {
  const graph = OnnxGraph.decode(bytes);
  const seen = new Set<string>();
  const stack = graph.nodes
    .flatMap((n) => n.input ?? [])
    .filter((i) => i.startsWith("past_key_values."));
  let expands = 0;
  while (stack.length > 0) {
    const value = stack.pop() ?? "";
    if (seen.has(value)) continue;
    seen.add(value);
    for (const node of graph.consumers(value)) {
      if (node.opType === "Shape" || node.opType === "MatMul") continue;
      if (node.opType === "Expand") expands++;
      stack.push(...(node.output ?? []));
    }
  }
  return expands;
}

const open = (bytes: Uint8Array) => ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });

function layerFeeds(past: number): Record<string, ort.Tensor> {
  const t = (n: number, heads: number, seed: number) =>
    new ort.Tensor(
      "float32",
      Float32Array.from({ length: heads * n * DIM }, (_, i) => Math.sin(i * 0.7 + seed)),
      [1, heads, n, DIM],
    );
  return {
    "past_key_values.0.key": t(past, KV_HEADS, 1),
    "past_key_values.0.value": t(past, KV_HEADS, 2),
    new_key: t(1, KV_HEADS, 3),
    new_value: t(1, KV_HEADS, 4),
    query: t(1, HEADS, 5),
  };
}

describe("grouped-query attention over the past without repeat_kv's copy", () => {
  // A per-head scale after repeat_kv is not the same on every KV head's copies: the keys
  // keep their repeat there, and only the values go grouped.
  it.each([
    { keyScale: "scalar", left: 0 },
    { keyScale: "per-head", left: 1 },
  ] as const)(
    "with a $keyScale key scale, leaves $left copies of the past and computes the export's context",
    async ({ keyScale, left }) => {
      const model = gqaLayer(keyScale);
      const bytes = rewriteForAppendKv(model)?.bytes;
      if (bytes === undefined) throw new Error("the rewrite did not apply");
      expect(expandsOfThePast(model)).toBe(2);
      expect(expandsOfThePast(bytes)).toBe(left);
      const feeds = layerFeeds(5);
      const [want, got] = [
        await (await open(model)).run(feeds),
        await (await open(bytes)).run(feeds),
      ];
      expect(
        maxAbsDiff(got.context?.data as Float32Array, want.context?.data as Float32Array),
      ).toBeLessThan(1e-6);
    },
  );

  it.each([false, true])(
    "leaves no copy of the past in the tiny Llama fixture (shapes from the cache: %s)",
    (shapesFromCache) => {
      const model = buildTinyLlamaModel(createTinyLlamaWeights(40), { shapesFromCache });
      expect(expandsOfThePast(model)).toBeGreaterThan(0);
      expect(expandsOfThePast(rewriteForAppendKv(model)?.bytes ?? new Uint8Array())).toBe(0);
    },
  );
});
