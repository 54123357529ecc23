import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import {
  findMatMulNBitsLevels,
  patchLevels,
  restoreLevels,
} from "../../src/onnx/matmul-nbits-levels.js";
import { intAttribute, OnnxGraph, setIntAttribute } from "../../src/onnx/onnx-graph.js";
import { quantizeModel } from "../../src/onnx/quantize/quantize-model.js";
import { threeMatMulModel } from "../helpers/three-matmul-model.js";

const { onnx } = onnxProto;

/** Three MatMuls quantized to MatMulNBits, at accuracy_level 1, 2 and 4. */
function quantized(): Uint8Array {
  const graph = OnnxGraph.decode(quantizeModel(threeMatMulModel(), { method: "int4" }).bytes);
  const nodes = graph.nodes.filter((n) => n.opType === "MatMulNBits");
  for (const [i, node] of nodes.entries())
    setIntAttribute(node, "accuracy_level", [1, 2, 4][i] ?? 0);
  return graph.finish();
}

const levels = (bytes: Uint8Array) =>
  OnnxGraph.decode(bytes)
    .nodes.filter((n) => n.opType === "MatMulNBits")
    .map((n) => intAttribute(n, "accuracy_level"));

/** Offsets where two equally long buffers differ. */
const differences = (a: Uint8Array, b: Uint8Array) => [...a.keys()].filter((i) => a[i] !== b[i]);

describe("findMatMulNBitsLevels, patchLevels, restoreLevels", () => {
  it("toggles every node's level in place, 4 -> 0 -> 4, changing no other byte", () => {
    const original = quantized();
    const bytes = new Uint8Array(original); // a copy (a Buffer's slice is a view)
    const found = findMatMulNBitsLevels(bytes);
    expect(found.unpatchable).toBe(0);
    expect(found.offsets.map((o) => bytes[o])).toEqual([1, 2, 4]);
    const held = patchLevels(bytes, found.offsets, 0);
    expect(held).toEqual([1, 2, 4]);
    expect(levels(bytes)).toEqual([0, 0, 0]);
    expect(differences(original, bytes)).toEqual(found.offsets);
    patchLevels(bytes, found.offsets, 4);
    expect(levels(bytes)).toEqual([4, 4, 4]);
    restoreLevels(bytes, found.offsets, held);
    expect(Buffer.compare(Buffer.from(bytes), Buffer.from(original))).toBe(0);
  });

  it("finds MatMulNBits in an If branch, and counts a node without the attribute as unpatchable", () => {
    const type = onnx.AttributeProto.AttributeType;
    const level = (i: number) => ({ name: "accuracy_level", type: type.INT, i });
    const nbits = (attribute: onnxProto.onnx.IAttributeProto[]) => ({
      opType: "MatMulNBits",
      domain: "com.microsoft",
      input: ["a", "w"],
      output: ["y"],
      attribute: [{ name: "K", type: type.INT, i: 32 }, ...attribute],
    });
    const branch = { name: "then", node: [nbits([level(4)])] };
    const ifNode = {
      opType: "If",
      input: ["c"],
      output: ["y"],
      attribute: [{ name: "then_branch", type: type.GRAPH, g: branch }],
    };
    // Same op type in another domain: not onnxruntime's MatMulNBits.
    const other = { ...nbits([level(3)]), domain: "example.other" };
    const graph = { name: "g", node: [nbits([level(2)]), ifNode, other, nbits([])] };
    const bytes = onnx.ModelProto.encode({ irVersion: 8, graph }).finish();
    const found = findMatMulNBitsLevels(bytes);
    expect(found.offsets.map((o) => bytes[o])).toEqual([2, 4]);
    expect(found.unpatchable).toBe(1);
    patchLevels(bytes, found.offsets, 0);
    const decoded = onnx.ModelProto.decode(bytes);
    const inBranch = decoded.graph?.node?.[1]?.attribute?.[0]?.g?.node?.[0];
    expect(inBranch && intAttribute(inBranch, "accuracy_level")).toBe(0);
    const otherNode = decoded.graph?.node?.[2];
    expect(otherNode && intAttribute(otherNode, "accuracy_level")).toBe(3);
  });

  it("refuses bytes that are not a protobuf, and a level that is not one byte", () => {
    expect(() => findMatMulNBitsLevels(new Uint8Array([0x3a, 0x7f, 1]))).toThrow(/runs past/);
    expect(() => patchLevels(new Uint8Array(2), [0], 128)).toThrow(RangeError);
  });
});
