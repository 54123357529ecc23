import { intAttribute, type OnnxGraph, setIntAttribute } from "./onnx-graph.js";

/**
 * Whether a serialised model may hold a MatMulNBits node: the op type is stored as
 * plain text, so a model without the string needs no decoding for the edit below.
 */
export function mayHoldMatMulNBits(model: Uint8Array): boolean {
  return Buffer.from(model.buffer, model.byteOffset, model.byteLength).includes("MatMulNBits");
}

/**
 * Sets `accuracy_level` on every com.microsoft MatMulNBits node, whatever the
 * export's tool chose: it decides how onnxruntime computes with the 4-bit weights
 * (level 4 quantizes the activations to int8 per block and uses integer dot
 * products, about 1.4x faster decode than level 0 on an AVX-512 VNNI CPU, at a
 * small cost in precision). Returns how many nodes changed.
 */
export function setMatMulNBitsAccuracyLevel(graph: OnnxGraph, level: number): number {
  let changed = 0;
  for (const node of graph.nodes) {
    if (node.opType !== "MatMulNBits" || node.domain !== "com.microsoft") continue;
    if (intAttribute(node, "accuracy_level") === level) continue;
    setIntAttribute(node, "accuracy_level", level);
    changed++;
  }
  return changed;
}
