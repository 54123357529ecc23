import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { createGraphBuilder } from "../../../scripts/fixtures/onnx-graph-builder.js";
import { sliceLogitsToLastPosition } from "../../../src/generation/kv-rewrite/last-position-logits.js";
import { OnnxGraph } from "../../../src/onnx/onnx-graph.js";

/** hidden [1, S, 2] -> (Mul by 2?) -> MatMul W [2, 3] -> (Cast?) -> logits [1, S, 3]. */
function head(options: { readonly cast?: boolean; readonly gather?: boolean } = {}): Uint8Array {
  const g = createGraphBuilder("head");
  g.input("hidden", "float32", [1, "sequence_length", 2]);
  g.initializer("w", Float32Array.from([1, 2, 3, -1, 0, 4]), [2, 3]);
  g.initializer("two", Float32Array.from([2]), [1]);
  g.node("Mul", ["hidden", "two"], ["scaled"]);
  const projected = options.cast ? "projected" : "logits";
  if (options.gather) {
    // Not a projection: a lookup, which the slice must leave alone.
    g.initializer("rows", Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    g.input("ids", "int64", [1, "sequence_length"]);
    g.node("Gather", ["rows", "ids"], [projected]);
  } else {
    g.node("MatMul", ["scaled", "w"], [projected]);
  }
  if (options.cast) g.node("Cast", [projected], ["logits"], { to: 1 });
  g.output("logits", "float32", [1, "sequence_length", 3]);
  return g.toBytes(17);
}

async function run(bytes: Uint8Array, hidden: number[]): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(bytes);
  const S = hidden.length / 2;
  const out = await session.run({
    hidden: new ort.Tensor("float32", Float32Array.from(hidden), [1, S, 2]),
  });
  await session.release();
  return out.logits as ort.Tensor;
}

describe("sliceLogitsToLastPosition", () => {
  it.each([
    ["a MatMul head", false],
    ["a MatMul head behind a Cast", true],
  ])("computes only the last position's logits of %s", async (_, cast) => {
    const graph = OnnxGraph.decode(head({ cast }));
    expect(sliceLogitsToLastPosition(graph)).toBe(true);
    const hidden = [1, 0, 0, 1, 0.5, -2];
    const [want, got] = [await run(head({ cast }), hidden), await run(graph.finish(), hidden)];
    expect(want.dims).toEqual([1, 3, 3]);
    expect(got.dims).toEqual([1, 1, 3]);
    // Position 2: hidden (0.5, -2) x 2 = (1, -4); times w: (1 + 4, 2 - 0, 3 - 16).
    expect(Array.from(got.data as Float32Array)).toEqual([5, 2, -13]);
    expect(Array.from(want.data as Float32Array).slice(6)).toEqual([5, 2, -13]);
  });

  it("leaves a graph alone when no projection produces the logits", () => {
    const graph = OnnxGraph.decode(head({ gather: true }));
    expect(sliceLogitsToLastPosition(graph)).toBe(false);
  });
});
