import type { OnnxNode } from "../onnx-graph.js";

/**
 * Which inputs of an op carry its float type T (the others are indices, shapes,
 * axes, conditions or quantized data); absent from the table: every input.
 */
const TYPED_INPUTS: Record<string, readonly number[]> = {
  Reshape: [0],
  Expand: [0],
  Tile: [0],
  Slice: [0],
  Gather: [0],
  GatherElements: [0],
  GatherND: [0],
  Unsqueeze: [0],
  Squeeze: [0],
  Transpose: [0],
  Split: [0],
  Pad: [0, 2],
  Where: [1, 2],
  ReduceMean: [0],
  ReduceSum: [0],
  ReduceMax: [0],
  ReduceMin: [0],
  Softmax: [0],
  Trilu: [0],
  CumSum: [0],
  ScatterND: [0, 2],
  ScatterElements: [0, 2],
  MatMulNBits: [0, 2],
};

/** Ops whose output is not of the type T their inputs share. */
const NON_FLOAT_OUTPUT = new Set([
  "Shape",
  "Size",
  "NonZero",
  "ArgMax",
  "ArgMin",
  "Equal",
  "Less",
  "Greater",
  "LessOrEqual",
  "GreaterOrEqual",
  "IsNaN",
  "IsInf",
  "Cast",
  "CastLike",
]);

/** The input positions of `node` that share its float type. */
export function typedInputs(node: OnnxNode): number[] {
  const table = TYPED_INPUTS[node.opType ?? ""];
  if (table) return table.filter((k) => k < (node.input?.length ?? 0));
  return (node.input ?? []).map((_, k) => k);
}

/** Whether `node`'s outputs have the float type of its typed inputs. */
export function outputFollowsInputs(node: OnnxNode): boolean {
  return !NON_FLOAT_OUTPUT.has(node.opType ?? "");
}
