import { LOGITS } from "../decoder-names.js";
import type { OnnxGraph, OnnxNode } from "../onnx-graph.js";
import { dimsOf, floatValues } from "./tensor-data.js";

/** A MatMul `y = x W` whose W is a 2-D float32 initializer held in the model. */
export interface WeightMatMul {
  readonly node: OnnxNode;
  /** W, row-major [K, N]. */
  readonly weights: Float32Array;
  readonly k: number;
  readonly n: number;
}

/**
 * The MatMuls a weight quantizer replaces: right side a 2-D float32 initializer held
 * in the model (external data is left alone). With `keepLmHead`, the output
 * projection (the MatMul producing `logits`, or whose node or weight names lm_head)
 * is skipped: it is the layer most sensitive to quantization. Embedding Gathers are
 * never quantized: their rows are read, not multiplied, and cost no bandwidth per token.
 */
export function weightMatMuls(graph: OnnxGraph, keepLmHead: boolean): WeightMatMul[] {
  const found: WeightMatMul[] = [];
  for (const node of graph.nodes) {
    if (node.opType !== "MatMul" || (node.domain ?? "") !== "") continue;
    const tensor = graph.initializer(node.input?.[1] ?? "");
    const dims = tensor ? dimsOf(tensor) : [];
    const weights = tensor && dims.length === 2 ? floatValues(tensor) : undefined;
    if (weights === undefined || (keepLmHead && isLmHead(node))) continue;
    found.push({ node, weights, k: dims[0] ?? 0, n: dims[1] ?? 0 });
  }
  return found;
}

function isLmHead(node: OnnxNode): boolean {
  const names = [node.name ?? "", node.input?.[1] ?? "", ...(node.output ?? [])];
  return (node.output ?? []).includes(LOGITS) || names.some((s) => s.includes("lm_head"));
}
