import { LOGITS } from "../../onnx/decoder-names.js";
import type { OnnxGraph, OnnxNode } from "../../onnx/onnx-graph.js";

/** Ops that may sit between the LM head and the `logits` output, each applied per position. */
const POSITION_WISE = new Set(["Cast", "Identity", "Add", "Mul", "Div", "Tanh", "Softcap"]);
/** The LM head: a projection of each position's hidden state onto the vocabulary. */
const PROJECTIONS = new Set(["MatMul", "MatMulNBits"]);
const INT64_MAX = Number.MAX_SAFE_INTEGER;

/**
 * Makes the decoder compute logits for the last position of each row only: the LM
 * head reads `hidden[:, -1:, :]` instead of every position's hidden state, and
 * `logits` becomes `[batch, 1, vocab]`. The engine samples from the last position
 * alone (decoder-step.ts), so a prefill of P tokens no longer projects P - 1 hidden
 * states onto the vocabulary for nothing: on SmolLM2-135M's shape the head is a fifth
 * of a token's multiply-adds (576 x 49,152 of ~135 M), and a 1,000-token prompt's
 * logits were a 197 MB output. A decode step (one position) computes the same.
 *
 * Walks back from `logits` through per-position ops to a MatMul or MatMulNBits whose
 * activation is `[batch, sequence, hidden]`, and slices that activation. Returns
 * whether it did: a graph of another shape is left as it is.
 */
export function sliceLogitsToLastPosition(graph: OnnxGraph): boolean {
  const head = findHead(graph);
  const hidden = head?.input?.[0];
  if (head === undefined || hidden === undefined) return false;
  const last = graph.add("Slice", [
    hidden,
    graph.int64([-1]),
    graph.int64([INT64_MAX]),
    graph.int64([1]),
  ]);
  graph.setInput(head, 0, last);
  graph.setOutputDim(LOGITS, 1, 1);
  return true;
}

function findHead(graph: OnnxGraph): OnnxNode | undefined {
  if (!graph.isGraphOutput(LOGITS)) return undefined;
  let node = graph.producer(LOGITS);
  for (let hops = 0; hops < 4 && node !== undefined; hops++) {
    const op = node.opType ?? "";
    if (PROJECTIONS.has(op)) return node;
    // A position-wise op with more than one activation input would need every input sliced.
    const activations = (node.input ?? []).filter((i) => graph.producer(i) !== undefined);
    if (!POSITION_WISE.has(op) || activations.length !== 1) return undefined;
    node = graph.producer(activations[0] ?? "");
  }
  return undefined;
}
