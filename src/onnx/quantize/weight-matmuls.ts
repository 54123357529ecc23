import { LOGITS } from "../decoder-names.js";
import type { OnnxGraph, OnnxNode } from "../onnx-graph.js";
import { dimsOf, floatValues } from "./tensor-data.js";

/** The MatMuls `y = x W` that share W, a 2-D float32 initializer held in the model. */
export interface WeightMatMul {
  /** W's name. */
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  /** W, row-major [K, N]. */
  readonly weights: Float32Array;
  readonly k: number;
  readonly n: number;
}

/**
 * The MatMuls a weight quantizer replaces, grouped by weight (one quantized copy
 * serves every MatMul that shares it): right side a 2-D float32 initializer held
 * in the model (external data is left alone). With `keepLmHead`, the output
 * projection (the MatMul producing `logits`, or whose node or weight names lm_head)
 * is skipped: it is the layer most sensitive to quantization. Embedding Gathers are
 * never quantized: their rows are read, not multiplied, and cost no bandwidth per token.
 */
export function weightMatMuls(graph: OnnxGraph, keepLmHead: boolean): WeightMatMul[] {
  const found = new Map<string, WeightMatMul & { nodes: OnnxNode[] }>();
  for (const node of graph.nodes) {
    if (node.opType !== "MatMul" || (node.domain ?? "") !== "") continue;
    if (keepLmHead && isLmHead(node)) continue;
    const name = node.input?.[1] ?? "";
    const known = found.get(name);
    if (known) {
      known.nodes.push(node);
      continue;
    }
    const tensor = graph.initializer(name);
    const dims = tensor ? dimsOf(tensor) : [];
    const weights = tensor && dims.length === 2 ? floatValues(tensor) : undefined;
    if (weights === undefined) continue;
    found.set(name, { name, nodes: [node], weights, k: dims[0] ?? 0, n: dims[1] ?? 0 });
  }
  return [...found.values()];
}

function isLmHead(node: OnnxNode): boolean {
  const names = [node.name ?? "", node.input?.[1] ?? "", ...(node.output ?? [])];
  return (node.output ?? []).includes(LOGITS) || names.some((s) => s.includes("lm_head"));
}
