import { isAbsolute, normalize, sep } from "node:path";
import { INPUT_IDS, type KvKind, pastName, presentName } from "../../onnx/decoder-names.js";
import { intAttribute, OnnxGraph, type OnnxNode } from "../../onnx/onnx-graph.js";
import { groupedPastProduct } from "./grouped-past.js";
import { sliceLogitsToLastPosition } from "./last-position-logits.js";

/**
 * Ops that may sit between the cache Concat and the attention MatMul, each mapping
 * slots to slots (Mul and Div: the scaling that PyTorch's scaled_dot_product_attention
 * export applies to the keys). An op that mixes slots after all fails the load-time check.
 */
const SLOT_WISE = new Set([
  "Unsqueeze",
  "Transpose",
  "Expand",
  "Reshape",
  "Identity",
  "Cast",
  "Mul",
  "Div",
]);
const INT64_MAX = Number.MAX_SAFE_INTEGER;

/**
 * Rewrites a decoder-with-past export so that a decode step no longer copies the
 * KV cache. The export grows the cache with `present = Concat(past, new)` and then
 * attends over `present`: every step copies the whole past (and onnxruntime-node
 * copies every output again into a new JS buffer), O(batch x past) per token. The
 * rewrite attends over `past` and `new` separately, which is the same sum:
 *
 *   scores = Concat(Q·f(past)ᵀ, Q·f(new)ᵀ)   probs = softmax(mask(scores))
 *   context = probs[..., :T]·g(past) + probs[..., T:]·g(new)
 *
 * (f, g: the export's own head-repeat and transpose ops, cloned onto each part), and
 * outputs only the new keys and values as `present.{i}.*`, which the engine appends
 * to its own buffers. Inputs, the mask and the position logic are untouched. Where
 * the LM head can be found, `logits` is the last position's only
 * (last-position-logits.ts): the engine samples from nothing else.
 *
 * Returns undefined when the graph does not have that shape (the engine then uses
 * the model as exported); a match is still checked numerically before use
 * (append-kv-check.ts). Initializers are kept as they are, external data included.
 * @throws Error when external data would resolve outside the model's folder.
 */
export function rewriteForAppendKv(model: Uint8Array): AppendKvModel | undefined {
  const graph = OnnxGraph.decode(model);
  const externalDataFiles = checkedExternalDataFiles(graph);
  let layers = 0;
  while (graph.isGraphInput(pastName(layers, "key"))) layers++;
  if (layers === 0) return undefined;
  const pastLength = graph.dims(pastName(0, "key"), 2, 3);
  const decoding = decodeStepFlag(graph);
  // The cache's element type (float16 in fp16 exports) types the decode-step If branches.
  const kv = { decoding, elemType: graph.ioElemType(pastName(0, "key")) ?? 1 };
  for (let i = 0; i < layers; i++) {
    if (!rewriteLayer(graph, i, pastLength, kv)) return undefined;
  }
  for (let i = 0; i < layers; i++) {
    graph.setOutputDim(presentName(i, "key"), 2, "sequence_length");
    graph.setOutputDim(presentName(i, "value"), 2, "sequence_length");
  }
  sliceLogitsToLastPosition(graph);
  try {
    return { bytes: graph.finish(), externalDataFiles };
  } catch {
    // Something besides attention read the full cache (its shape, say): leave the graph alone.
    return undefined;
  }
}

/** A rewritten decoder: the model, and the external data files it refers to. */
export interface AppendKvModel {
  readonly bytes: Uint8Array;
  /**
   * Paths, relative to the model's folder, of the weights kept outside the model:
   * the bytes must be loaded from a file in that folder for them to resolve.
   */
  readonly externalDataFiles: readonly string[];
}

interface CacheUse {
  readonly concat: OnnxNode;
  /** The grown cache, renamed so that `present.{i}.*` can name the new slots. */
  readonly grown: string;
  /** The slot-wise ops from the grown cache to the MatMul, in order. */
  readonly chain: readonly OnnxNode[];
  readonly matmul: OnnxNode;
}

/**
 * A flag that is true when one token per row is fed (a decode step), for the ops
 * that are cheaper then; undefined before opset 13 (Squeeze/ReduceSum axes inputs)
 * or without input_ids.
 */
function decodeStepFlag(graph: OnnxGraph): string | undefined {
  if (graph.opset() < 13 || !graph.isGraphInput(INPUT_IDS)) return undefined;
  const length = graph.dims(INPUT_IDS, 1, 2);
  return graph.add("Equal", [length, graph.int64([1])]);
}

/**
 * `query · newKey` (scores over the new slots). In a decode step that is one dot
 * product per row and head, done elementwise: as a MatMul it is one tiny GEMM per
 * row and head, which on small heads costs more than the copies the rewrite saves.
 */
function newScores(graph: OnnxGraph, query: string, newKey: string, kv: KvStep) {
  const { decoding, elemType } = kv;
  const matmul = { op: "MatMul", inputs: [query, newKey] };
  if (decoding === undefined) return graph.add(matmul.op, matmul.inputs);
  const [last, beforeLast] = [graph.int64([-1]), graph.int64([-2])];
  return graph.addIf(
    decoding,
    [
      { op: "Squeeze", inputs: [newKey, last] }, // [..., D, 1] -> [..., D]
      { op: "Unsqueeze", inputs: ["$0", beforeLast] }, // -> [..., 1, D]
      { op: "Mul", inputs: [query, "$1"] },
      { op: "ReduceSum", inputs: ["$2", last], attrs: { keepdims: 1 } }, // -> [..., 1, 1]
    ],
    [matmul],
    elemType,
  );
}

/** `probsNew · newValue`; in a decode step both have one slot, so it is a broadcast Mul. */
function newContext(graph: OnnxGraph, probsNew: string, newValue: string, kv: KvStep) {
  const matmul = { op: "MatMul", inputs: [probsNew, newValue] };
  if (kv.decoding === undefined) return graph.add(matmul.op, matmul.inputs);
  const mul = { op: "Mul", inputs: [probsNew, newValue] };
  return graph.addIf(kv.decoding, [mul], [matmul], kv.elemType);
}

/** The decode-step flag (see decodeStepFlag) and the cache's ONNX element type. */
interface KvStep {
  readonly decoding: string | undefined;
  readonly elemType: number;
}

function rewriteLayer(graph: OnnxGraph, layer: number, pastLength: string, kv: KvStep): boolean {
  const key = findCacheUse(graph, layer, "key");
  const value = findCacheUse(graph, layer, "value");
  if (key === undefined || value === undefined) return false;
  const query = key.matmul.input?.[0] ?? "";
  const probs = value.matmul.input?.[0] ?? "";
  const newKey = throughChain(graph, key, slotsOf(key, 1));
  const newValue = throughChain(graph, value, slotsOf(value, 1));
  const at = (node: OnnxNode) => node.output?.[0] ?? "";
  const [scores, context] = [at(key.matmul), at(value.matmul)];
  for (const node of [key.concat, key.matmul, value.concat, value.matmul]) graph.remove(node);
  // The plain product of the past goes through the export's chain (repeat_kv's copy included).
  const pastProduct = (use: CacheUse, lhs: string) =>
    groupedPastProduct(graph, use.chain, slotsOf(use, 0), lhs) ??
    graph.add("MatMul", [lhs, throughChain(graph, use, slotsOf(use, 0))]);
  const scoresPast = pastProduct(key, query);
  const scoresNew = newScores(graph, query, newKey, kv);
  graph.add("Concat", [scoresPast, scoresNew], { axis: -1 }, scores);
  const [zero, last, end] = [graph.int64([0]), graph.int64([-1]), graph.int64([INT64_MAX])];
  const probsPast = graph.add("Slice", [probs, zero, pastLength, last]);
  const probsNew = graph.add("Slice", [probs, pastLength, end, last]);
  const contextPast = pastProduct(value, probsPast);
  const contextNew = newContext(graph, probsNew, newValue, kv);
  graph.add("Add", [contextPast, contextNew], {}, context);
  emitNewSlots(graph, key.concat, presentName(layer, "key"));
  emitNewSlots(graph, value.concat, presentName(layer, "value"));
  return true;
}

/**
 * The Concat that grows layer `i`'s cache, and the slot-wise chain from it to a
 * MatMul's right side. Shape inputs of the chain may be computed from the cache
 * itself (Hugging Face's repeat_kv expands to the cache's own shape): {@link throughChain}
 * recomputes them for each part.
 */
function findCacheUse(graph: OnnxGraph, layer: number, kind: KvKind): CacheUse | undefined {
  const past = pastName(layer, kind);
  // Other readers of the past (a Shape for the mask, say) still see the same tensor.
  const concats = graph.consumers(past).filter((n) => n.opType === "Concat");
  const concat = concats[0];
  if (concats.length !== 1 || concat === undefined) return undefined;
  const axis = intAttribute(concat, "axis");
  if ((axis !== 2 && axis !== -2) || concat.input?.length !== 2 || concat.input[0] !== past) {
    return undefined;
  }
  if (concat.output?.[0] !== presentName(layer, kind)) return undefined;
  const grown = `${presentName(layer, kind)}/inferd_grown`;
  graph.renameValue(presentName(layer, kind), grown);
  const chain: OnnxNode[] = [];
  let value = grown;
  for (let hops = 0; hops < 8; hops++) {
    // Readers that take the cache as data; others (Shape) only compute shapes from it.
    const next = graph.consumers(value).filter((n) => n.opType !== "Shape");
    const node = next[0];
    if (next.length !== 1 || node === undefined) return undefined;
    if (node.opType === "MatMul") {
      return node.input?.[1] === value ? { concat, grown, chain, matmul: node } : undefined;
    }
    if (!SLOT_WISE.has(node.opType ?? "") || node.input?.[0] !== value) return undefined;
    chain.push(node);
    value = node.output?.[0] ?? "";
  }
  return undefined;
}

/** The Concat's input `k`: the past (0) or the new slots (1). */
function slotsOf(use: CacheUse, k: 0 | 1): string {
  return use.concat.input?.[k] ?? "";
}

/** The chain applied to `input` in place of the grown cache (its shape inputs recomputed too). */
function throughChain(graph: OnnxGraph, use: CacheUse, input: string): string {
  const last = use.chain.at(-1)?.output?.[0] ?? use.grown;
  return graph.recompute(last, new Map([[use.grown, input]]));
}

/** Makes the new slots (the Concat's second input) the graph output `present`. */
function emitNewSlots(graph: OnnxGraph, concat: OnnxNode, present: string): void {
  const fresh = concat.input?.[1] ?? "";
  if (graph.producer(fresh) === undefined || graph.isGraphOutput(fresh)) {
    graph.add("Identity", [fresh], {}, present);
  } else {
    graph.renameValue(fresh, present);
  }
}

/** The graph's external data files, refusing any that would resolve outside its folder. */
export function checkedExternalDataFiles(graph: OnnxGraph): string[] {
  const files = graph.externalDataFiles();
  for (const file of files) {
    if (isAbsolute(file) || normalize(file).split(sep).includes("..")) {
      throw new Error(`external data "${file}" lies outside the model's folder`);
    }
  }
  return files;
}
