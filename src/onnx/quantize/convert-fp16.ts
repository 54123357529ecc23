import type { ExternalDataReader } from "../external-data.js";
import type { OnnxGraph, OnnxNode } from "../onnx-graph.js";
import { intAttribute } from "../onnx-graph.js";
import { outputFollowsInputs, typedInputs } from "./float16-typing.js";
import { FLOAT16_MAX, float16Copy } from "./float16-values.js";
import { ELEM } from "./tensor-data.js";

/**
 * Converts a float32 decoder to float16 weights and activations, the form of
 * transformers.js' `model_fp16.onnx`: float inputs (the past keys and values) and
 * outputs (logits, present) become float16, every float32 weight a float16
 * initializer (half the bytes), and every computation that reads a weight or the
 * cache runs in float16. What derives from the integer inputs alone (positions,
 * rotary angles, the attention mask) stays float32, and is cast where it meets the
 * float16 flow, clipped to ±65504 first: positions times frequencies lose whole
 * radians in float16, and a float32 "minus infinity" mask would become −inf.
 * onnxruntime's CPU provider casts around ops it has no float16 kernel for itself.
 * Weights in external data files are read through `external` (without it, cast at run
 * time). Returns how many weights were converted.
 */
export function convertToFloat16(graph: OnnxGraph, external?: ExternalDataReader): number {
  const state: Fp16State = { half: new Set(), float: new Set(), memo: new Map(), external };
  const { inputs, outputs } = graph.ioNames();
  for (const name of inputs) {
    if (graph.ioElemType(name) !== ELEM.float) continue;
    graph.setIoElemType(name, ELEM.float16);
    state.half.add(name);
  }
  for (const t of graph.initializers) if (t.dataType === ELEM.float) state.float.add(t.name ?? "");
  for (const node of [...graph.nodes]) visit(graph, node, state);
  for (const name of outputs) if (state.half.has(name)) graph.setIoElemType(name, ELEM.float16);
  return state.memo.size;
}

interface Fp16State {
  /** Values that are float16 after the conversion. */
  readonly half: Set<string>;
  /** Values that stay float32. */
  readonly float: Set<string>;
  /** float32 value -> its float16 counterpart (initializer copy or cast). */
  readonly memo: Map<string, string>;
  /** Reads weights kept in external data files. */
  readonly external: ExternalDataReader | undefined;
}

function visit(graph: OnnxGraph, node: OnnxNode, state: Fp16State): void {
  const outputs = node.output ?? [];
  if (producesFloat32(node)) {
    for (const o of outputs) state.float.add(o);
    return;
  }
  const typed = typedInputs(node);
  const value = (k: number) => node.input?.[k] ?? "";
  const isHalf = typed.some((k) => state.half.has(value(k))) || readsWeight(graph, node, typed);
  if (!isHalf) {
    if (outputFollowsInputs(node) && typed.some((k) => state.float.has(value(k)))) {
      for (const o of outputs) state.float.add(o);
    }
    return;
  }
  for (const k of typed) {
    if (state.float.has(value(k))) graph.setInput(node, k, toHalf(graph, value(k), state));
  }
  if (outputFollowsInputs(node)) for (const o of outputs) state.half.add(o);
}

/** Constants and casts to float32, whose output type is their own. */
function producesFloat32(node: OnnxNode): boolean {
  if (node.opType === "Cast") return intAttribute(node, "to") === ELEM.float;
  if (node.opType === "Constant") return node.attribute?.[0]?.t?.dataType === ELEM.float;
  if (node.opType === "ConstantOfShape") {
    const type = node.attribute?.find((a) => a.name === "value")?.t?.dataType;
    return type === undefined || type === null || type === ELEM.float;
  }
  return false;
}

/** A MatMul, Gemm or Gather on a float32 weight: where the float16 flow starts. */
function readsWeight(graph: OnnxGraph, node: OnnxNode, typed: readonly number[]): boolean {
  if (!["MatMul", "Gemm", "Gather"].includes(node.opType ?? "")) return false;
  return typed.some((k) => graph.initializer(node.input?.[k] ?? "")?.dataType === ELEM.float);
}

/** The float16 counterpart of float32 `value`: a converted copy when constant, else a cast. */
function toHalf(graph: OnnxGraph, value: string, state: Fp16State): string {
  const known = state.memo.get(value);
  if (known !== undefined) return known;
  const constant =
    graph.initializer(value) ??
    (graph.producer(value)?.opType === "Constant"
      ? (graph.producer(value)?.attribute?.[0]?.t ?? undefined)
      : undefined);
  const copy = constant ? float16Copy(constant, `${value}/fp16`, state.external) : undefined;
  let half: string;
  if (copy) {
    half = graph.addInitializer(copy);
  } else {
    const bounds = [graph.float32([-FLOAT16_MAX]), graph.float32([FLOAT16_MAX])];
    const clipped = graph.addOp({ op: "Clip", inputs: [value, ...bounds] });
    half = graph.addOp({ op: "Cast", inputs: [clipped], attrs: { to: ELEM.float16 } });
  }
  state.memo.set(value, half);
  state.half.add(half);
  return half;
}
