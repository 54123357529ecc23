import { LOGITS } from "../decoder-names.js";
import type { ExternalDataReader } from "../external-data.js";
import type { OnnxGraph, OnnxNode } from "../onnx-graph.js";
import { dimsOf, floatValues, hasFloatValues } from "./tensor-data.js";

/** The MatMuls `y = x W` that share W, a 2-D float32 initializer or its transpose. */
export interface WeightMatMul {
  /** W's name: the initializer's, or the Transpose output's when `transposed`. */
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  /**
   * Reads the initializer into a fresh array, row-major [K, N], or [N, K] when
   * `transposed`: called once per weight while it is quantized, so that only one
   * float32 weight is held at a time.
   */
  readonly read: () => Float32Array;
  readonly k: number;
  readonly n: number;
  /**
   * W is `Transpose(E)` (perm [1, 0]) of an initializer E [N, K]: a tied output
   * projection, E being the token embedding. `read` returns E as stored.
   */
  readonly transposed: boolean;
  /** The initializer read: W itself, or E when `transposed`. */
  readonly initializer: string;
}

/** What a weight quantizer (int4, int8) replaced. */
export interface ReplacedMatMuls {
  /** MatMuls replaced. */
  readonly replaced: number;
  /** Initializers quantized through a Transpose: the embeddings of tied output projections. */
  readonly tied: readonly string[];
}

/**
 * The MatMuls a weight quantizer replaces, grouped by weight (one quantized copy
 * serves every MatMul that shares it): right side a 2-D float32 initializer held
 * in the model, or in an external data file when `external` reads it (else left alone),
 * or `Transpose(E)` of such an initializer, as exports of models whose output head is
 * tied to the embedding compute logits (SmolLM2, Llama 3.2 1B, Qwen2.5 0.5B; there it is
 * most of a decode step's weight bytes). With `keepLmHead`, the output projection (the
 * MatMul producing `logits`, or whose node or weight names lm_head) is skipped: it is
 * the layer most sensitive to quantization. Embedding Gathers are never quantized: their
 * rows are read, not multiplied, and cost no bandwidth per token (a tied E stays for
 * them; the Transpose, unused once replaced, goes when the graph is pruned).
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
    if (known) known.nodes.push(node);
    else {
      const weight = weightOf(graph, name, external);
      if (weight) found.set(name, { ...weight, name, nodes: [node] });
    }
  }
  return [...found.values()];
}

type Weight = Pick<WeightMatMul, "read" | "k" | "n" | "transposed" | "initializer">;

/** How to read `name`, the right side of a MatMul, if it is a weight the quantizers take. */
function weightOf(
  graph: OnnxGraph,
  name: string,
  external?: ExternalDataReader,
): Weight | undefined {
  const transpose = graph.initializer(name) ? undefined : graph.producer(name);
  const transposed = transpose !== undefined && isSwap(transpose);
  const source = transposed ? (transpose.input?.[0] ?? "") : name;
  const tensor = graph.initializer(source);
  const dims = tensor ? dimsOf(tensor) : [];
  if (!tensor || dims.length !== 2 || !hasFloatValues(tensor, external)) return undefined;
  const [rows, cols] = [dims[0] ?? 0, dims[1] ?? 0];
  const read = () => floatValues(tensor, external) ?? new Float32Array(0);
  return transposed
    ? { read, k: cols, n: rows, transposed, initializer: source }
    : { read, k: rows, n: cols, transposed, initializer: source };
}

/** A Transpose swapping the two axes of a 2-D value (perm [1, 0], or none: reversed). */
function isSwap(node: OnnxNode): boolean {
  if (node.opType !== "Transpose" || (node.domain ?? "") !== "") return false;
  const perm = node.attribute?.find((a) => a.name === "perm")?.ints;
  if (perm === undefined || perm === null || perm.length === 0) return true;
  const axes = perm.map((p) => (typeof p === "number" ? p : p.toNumber()));
  return axes.length === 2 && axes[0] === 1 && axes[1] === 0;
}

function isLmHead(node: OnnxNode): boolean {
  const names = [node.name ?? "", node.input?.[1] ?? "", ...(node.output ?? [])];
  return (node.output ?? []).includes(LOGITS) || names.some((s) => s.includes("lm_head"));
}
