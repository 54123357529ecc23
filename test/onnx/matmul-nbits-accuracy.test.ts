import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import {
  mayHoldMatMulNBits,
  setMatMulNBitsAccuracyLevel,
} from "../../src/onnx/matmul-nbits-accuracy.js";
import { intAttribute, OnnxGraph } from "../../src/onnx/onnx-graph.js";
import { quantizeModel } from "../../src/onnx/quantize/quantize-model.js";
import { threeMatMulModel as model } from "../helpers/three-matmul-model.js";

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
