import { intsAttribute, type OnnxGraph, type OnnxNode } from "../../onnx/onnx-graph.js";

/** Ops that may surround repeat_kv on the cache's path to attention, each the same on every head. */
const HEAD_WISE = new Set(["Cast", "Identity", "Mul", "Div"]);

/**
 * `lhs · chain(past)` for grouped-query attention without repeat_kv's copy. Exports of
 * Hugging Face's eager attention repeat each KV head for its query heads before the
 * MatMul (`Unsqueeze(2) → Expand → Reshape`, `repeat_kv`): on SmolLM2-135M's shape (9
 * query heads, 3 KV heads) that copies every row's whole cache three times over, in
 * every layer of every step, and the MatMul reads the copy again (a bare 16-row step:
 * 41.5 ms of 163 ms of kernel time in Expand). Since query head h reads KV head h / rep,
 * the same scores come from folding `lhs` [b, H, n, ·] into [b, kvh, rep·n, ·] and
 * multiplying by the cache as it is: one GEMM per KV head, no copy. The new slots (one per row in a decode step) keep
 * the export's own chain.
 *
 * `chain` is the slot-wise path from the grown cache to the MatMul (append-kv-rewrite.ts);
 * returns undefined unless it is repeat_kv surrounded only by per-element ops and the
 * keys' transpose, so any other export keeps the rewrite's plain product (and every
 * rewrite is checked numerically at load, append-kv-check.ts).
 */
export function groupedPastProduct(
  graph: OnnxGraph,
  chain: readonly OnnxNode[],
  past: string,
  lhs: string,
): string | undefined {
  const at = chain.findIndex((node) => node.opType === "Unsqueeze");
  const [unsqueeze, expand, reshape] = [chain[at], chain[at + 1], chain[at + 2]];
  if (at < 0 || expand?.opType !== "Expand" || reshape?.opType !== "Reshape") return undefined;
  if (!isUnsqueezeAt2(graph, unsqueeze)) return undefined;
  let value = past;
  for (const [k, node] of chain.entries()) {
    if (k >= at && k <= at + 2) continue;
    const next = headWise(graph, node, value, k > at);
    if (next === undefined) return undefined;
    value = next;
  }
  // [b, kvh, ...] of the cache, [b, H, n, x] of lhs: lhs folded to [b, kvh, rep·n, x]. The
  // cache's shape is read from the input, not from `value`, so that onnxruntime can still
  // fuse the keys' Transpose into the MatMul (a second reader blocks the fusion).
  const minusOne = graph.int64([-1]);
  const folded = graph.add("Reshape", [
    lhs,
    graph.add("Concat", [graph.dims(past, 0, 2), minusOne, graph.dims(lhs, 3, 4)], { axis: 0 }),
  ]);
  const product = graph.add("MatMul", [folded, value]);
  return graph.add("Reshape", [
    product,
    graph.add("Concat", [graph.dims(lhs, 0, 3), minusOne], { axis: 0 }),
  ]);
}

function isUnsqueezeAt2(graph: OnnxGraph, node: OnnxNode | undefined): boolean {
  if (node === undefined) return false;
  const axes = intsAttribute(node, "axes") ?? graph.constantInts(node.input?.[1] ?? "");
  return axes?.length === 1 && (axes[0] === 2 || axes[0] === -3);
}

/**
 * `node` applied to `value` when it acts on each head alike (a per-element op by a
 * constant, or after repeat_kv the keys' last-two-axes transpose); undefined otherwise.
 */
function headWise(graph: OnnxGraph, node: OnnxNode, value: string, afterRepeat: boolean) {
  const op = node.opType ?? "";
  if (op === "Transpose" && afterRepeat) {
    const perm = intsAttribute(node, "perm");
    return perm?.join() === "0,1,3,2" ? graph.addCopy(node, [value]) : undefined;
  }
  const others = (node.input ?? []).slice(1);
  if (!HEAD_WISE.has(op) || !others.every((i) => isScalarConstant(graph, i))) return undefined;
  return graph.addCopy(node, [value, ...others]);
}

/** Whether `name` is a constant of one element (a scale), the same for every head. */
function isScalarConstant(graph: OnnxGraph, name: string): boolean {
  const tensor = graph.constantTensor(name);
  return tensor !== undefined && (tensor.dims ?? []).every((d) => Number(d) === 1);
}
