import { LOGITS } from "../decoder-names.js";
import type { ExternalDataReader } from "../external-data.js";
import type { OnnxGraph, OnnxNode } from "../onnx-graph.js";
import { dimsOf, floatValues, hasFloatValues } from "./tensor-data.js";

/** The MatMuls `y = x W` that share W, a 2-D float32 initializer. */
export interface WeightMatMul {
  /** W's name. */
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  /**
   * Reads W, row-major [K, N], into a fresh array: called once per weight while it is
   * quantized, so that only one float32 weight is held at a time.
   */
  readonly read: () => Float32Array;
  readonly k: number;
  readonly n: number;
}

/**
 * The MatMuls a weight quantizer replaces, grouped by weight (one quantized copy
 * serves every MatMul that shares it): right side a 2-D float32 initializer held
 * in the model, or in an external data file when `external` reads it (else left alone). With `keepLmHead`, the output
 * projection (the MatMul producing `logits`, or whose node or weight names lm_head)
 * is skipped: it is the layer most sensitive to quantization. Embedding Gathers are
 * never quantized: their rows are read, not multiplied, and cost no bandwidth per token.
 */
export function weightMatMuls(
  graph: OnnxGraph,
  keepLmHead: boolean,
  external?: ExternalDataReader,
): WeightMatMul[] {
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
    if (!tensor || dims.length !== 2 || !hasFloatValues(tensor, external)) continue;
    const read = () => floatValues(tensor, external) ?? new Float32Array(0);
    found.set(name, { name, nodes: [node], read, k: dims[0] ?? 0, n: dims[1] ?? 0 });
  }
  return [...found.values()];
}

function isLmHead(node: OnnxNode): boolean {
  const names = [node.name ?? "", node.input?.[1] ?? "", ...(node.output ?? [])];
  return (node.output ?? []).includes(LOGITS) || names.some((s) => s.includes("lm_head"));
}
