import type { OnnxGraph } from "./onnx-graph.js";

const FLOAT = 1;
const FLOAT16 = 10;

/**
 * Gives a float16 graph (transformers.js' `model_fp16.onnx`: float16 cache and
 * logits) float32 inputs and outputs: a Cast after each float16 input and before
 * each float16 output, inside the graph. inferd's engine keeps its KV cache and
 * reads logits in float32; the values stored are float16 values, so nothing is
 * lost, at the price of casting the past once per step. Returns how many inputs
 * and outputs changed (0: the graph is left as it was).
 */
export function castFloat16Io(graph: OnnxGraph): number {
  const { inputs, outputs } = graph.ioNames();
  let changed = 0;
  for (const name of inputs) {
    if (graph.ioElemType(name) !== FLOAT16) continue;
    graph.renameValue(name, `${name}/fp16`);
    graph.addOp({ op: "Cast", inputs: [name], attrs: { to: FLOAT16 }, output: `${name}/fp16` });
    graph.setIoElemType(name, FLOAT);
    changed++;
  }
  for (const name of outputs) {
    if (graph.ioElemType(name) !== FLOAT16) continue;
    graph.renameValue(name, `${name}/fp16`);
    graph.addOp({ op: "Cast", inputs: [`${name}/fp16`], attrs: { to: FLOAT }, output: name });
    graph.setIoElemType(name, FLOAT);
    changed++;
  }
  return changed;
}
