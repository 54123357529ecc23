import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import { createGraphBuilder } from "../../scripts/fixtures/onnx-graph-builder.js";
import { createSeededRandom } from "../../scripts/fixtures/seeded-random.js";
import {
  mayHoldMatMulNBits,
  setMatMulNBitsAccuracyLevel,
} from "../../src/onnx/matmul-nbits-accuracy.js";
import { intAttribute, OnnxGraph } from "../../src/onnx/onnx-graph.js";
import { quantizeModel } from "../../src/onnx/quantize/quantize-model.js";

/** Two MatMuls sharing one weight (as a tied head would), then one of their own. */
function model(): Uint8Array {
  const random = createSeededRandom(3);
  const g = createGraphBuilder();
  g.input("a", "float32", ["m", 32]);
  g.output("y", "float32", ["m", 8]);
  g.initializer("w", random.normals(32 * 32, 0.2), [32, 32]);
  g.initializer("v", random.normals(32 * 8, 0.2), [32, 8]);
  g.node("MatMul", ["a", "w"], ["h"]);
  g.node("MatMul", ["h", "w"], ["h2"]);
  g.node("MatMul", ["h2", "v"], ["y"]);
  return g.toBytes();
}

const levels = (bytes: Uint8Array) =>
  OnnxGraph.decode(bytes)
    .nodes.filter((n) => n.opType === "MatMulNBits")
    .map((n) => intAttribute(n, "accuracy_level"));

describe("setMatMulNBitsAccuracyLevel", () => {
  it("sets every MatMulNBits node's level and counts only the ones it changed", () => {
    const quantized = quantizeModel(model(), { method: "int4", accuracyLevel: 0 });
    // The shared weight is quantized once: 3 nodes, 2 weights, 6 initializers.
    expect(quantized.changed).toBe(3);
    const decoded = onnxProto.onnx.ModelProto.decode(quantized.bytes);
    expect(decoded.graph?.initializer?.map((t) => t.name).sort()).toEqual([
      "v_Q4",
      "v_scales",
      "v_zp",
      "w_Q4",
      "w_scales",
      "w_zp",
    ]);
    expect(levels(quantized.bytes)).toEqual([0, 0, 0]);
    const graph = OnnxGraph.decode(quantized.bytes);
    expect(setMatMulNBitsAccuracyLevel(graph, 4)).toBe(3);
    expect(setMatMulNBitsAccuracyLevel(graph, 4)).toBe(0);
    expect(levels(graph.finish())).toEqual([4, 4, 4]);
  });

  it("tells from the bytes alone whether a model may hold MatMulNBits", () => {
    expect(mayHoldMatMulNBits(model())).toBe(false);
    expect(mayHoldMatMulNBits(quantizeModel(model(), { method: "int4" }).bytes)).toBe(true);
  });
});
