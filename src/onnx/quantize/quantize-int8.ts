import type { ExternalDataReader } from "../external-data.js";
import type { OnnxGraph } from "../onnx-graph.js";
import { ELEM, rawTensor } from "./tensor-data.js";
import { type ReplacedMatMuls, weightMatMuls } from "./weight-matmuls.js";

const TO_FLOAT = 1;

/**
 * Replaces every MatMul by a float weight with dynamic int8 quantization, the form
 * onnxruntime's `quantize_dynamic` writes and Optimum's `model_quantized.onnx` has:
 * `DynamicQuantizeLinear(x)` (uint8 activations, one scale per call), `MatMulInteger`
 * with int8 weights quantized per output channel (symmetric: zero points 0, kept as
 * an input), then `Cast` and one `Mul` by the activation scale times the channel
 * scales. Standard ONNX ops, so the file runs anywhere; onnxruntime's CPU provider
 * fuses the chain into one DynamicQuantizeMatMul at load (graph optimization
 * "extended" or above, its default). Weights in external data files are read through
 * `external` (left as they are without it). A tied output projection, `MatMul(x,
 * Transpose(E))`, gets int8 codes of E^T [K, N] (what MatMulInteger multiplies by);
 * E stays for the embedding Gather. Returns what was replaced.
 */
export function quantizeInt8(
  graph: OnnxGraph,
  keepLmHead: boolean,
  external?: ExternalDataReader,
): ReplacedMatMuls {
  const found = weightMatMuls(graph, keepLmHead, external);
  let replaced = 0;
  for (const { name: weight, nodes, read, k, n, transposed } of found) {
    const { codes, scales } = quantizePerChannel(read(), k, n, transposed);
    const b = graph.addInitializer(rawTensor(`${weight}_quantized`, ELEM.int8, [k, n], codes));
    const bScale = graph.addInitializer(rawTensor(`${weight}_scale`, ELEM.float, [n], scales));
    const bZero = graph.addInitializer(
      rawTensor(`${weight}_zero_point`, ELEM.int8, [n], new Int8Array(n)),
    );
    for (const node of nodes) {
      const output = node.output?.[0] ?? "";
      graph.remove(node);
      const x = node.input?.[0] ?? "";
      const [xq, xScale, xZero] = [`${output}/x_q`, `${output}/x_scale`, `${output}/x_zero_point`];
      graph.addOp({
        op: "DynamicQuantizeLinear",
        inputs: [x],
        output: xq,
        moreOutputs: [xScale, xZero],
      });
      const product = graph.addOp({ op: "MatMulInteger", inputs: [xq, b, xZero, bZero] });
      const asFloat = graph.addOp({ op: "Cast", inputs: [product], attrs: { to: TO_FLOAT } });
      const scale = graph.addOp({ op: "Mul", inputs: [xScale, bScale] });
      graph.addOp({ op: "Mul", inputs: [asFloat, scale], output });
      replaced++;
    }
  }
  return { replaced, tied: found.filter((w) => w.transposed).map((w) => w.initializer) };
}

/**
 * Symmetric int8 codes of W [K, N], row-major, one scale per column (max |w| / 127);
 * `weights` is W, or W^T [N, K] when `transposed` (the codes are W's layout either way).
 */
function quantizePerChannel(weights: Float32Array, k: number, n: number, transposed: boolean) {
  // W[r][col] is weights[r * rs + col * cs].
  const [rs, cs] = transposed ? [1, k] : [n, 1];
  const scales = new Float32Array(n);
  for (let r = 0; r < k; r++) {
    for (let col = 0; col < n; col++) {
      scales[col] = Math.max(scales[col] ?? 0, Math.abs(weights[r * rs + col * cs] ?? 0));
    }
  }
  for (let col = 0; col < n; col++) scales[col] = (scales[col] || 127) / 127;
  const codes = new Int8Array(k * n);
  for (let r = 0; r < k; r++) {
    for (let col = 0; col < n; col++) {
      const v = (weights[r * rs + col * cs] ?? 0) / (scales[col] ?? 1);
      codes[r * n + col] = Math.max(-127, Math.min(127, Math.round(v)));
    }
  }
  return { codes, scales };
}
