import type { ExternalDataReader } from "../external-data.js";
import type { OnnxGraph } from "../onnx-graph.js";
import { quantizeInt4Blocks } from "./int4-blocks.js";
import { ELEM, rawTensor } from "./tensor-data.js";
import { type ReplacedMatMuls, weightMatMuls } from "./weight-matmuls.js";

/** Options of {@link quantizeInt4}. */
export interface Int4Options {
  /** Values per block along K: a power of two ≥ 16; 32 (the default) or 128. */
  readonly blockSize: number;
  /** MatMulNBits `accuracy_level`: 0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8 activations. */
  readonly accuracyLevel: number;
  /** Leave the output projection in float32 (see weightMatMuls). */
  readonly keepLmHead: boolean;
  /** Reads weights kept in external data files; without it they are left as they are. */
  readonly external?: ExternalDataReader | undefined;
}

/**
 * Replaces every MatMul by a float weight with com.microsoft `MatMulNBits` (bits 4,
 * block-wise asymmetric with packed zero points: the form of onnx-community's
 * `model_q4.onnx`), so that a decode step reads about a seventh of the fp32 weight bytes (4 bits plus a scale and zero point per block).
 * A tied output projection, `MatMul(x, Transpose(E))`, is quantized from E's rows as
 * they are (MatMulNBits' B is [N, K/block, ...], E's own layout); E stays for the
 * embedding Gather. Returns what was replaced.
 */
export function quantizeInt4(graph: OnnxGraph, options: Int4Options): ReplacedMatMuls {
  const found = weightMatMuls(graph, options.keepLmHead, options.external);
  if (found.length > 0) graph.useOpset("com.microsoft", 1);
  let replaced = 0;
  for (const { name: weight, nodes, read, k, n, transposed } of found) {
    const q = quantizeInt4Blocks(read(), k, n, options.blockSize, transposed);
    const b = graph.addInitializer(
      rawTensor(`${weight}_Q4`, ELEM.uint8, [n, q.blocks, options.blockSize / 2], q.packed),
    );
    const scales = graph.addInitializer(
      rawTensor(`${weight}_scales`, ELEM.float, [n * q.blocks], q.scales),
    );
    const zeroPoints = graph.addInitializer(
      rawTensor(`${weight}_zp`, ELEM.uint8, [q.zeroPoints.length], q.zeroPoints),
    );
    const attrs = {
      K: k,
      N: n,
      bits: 4,
      block_size: options.blockSize,
      accuracy_level: options.accuracyLevel,
    };
    for (const node of nodes) {
      const output = node.output?.[0] ?? "";
      graph.remove(node);
      const inputs = [node.input?.[0] ?? "", b, scales, zeroPoints];
      graph.addOp({ op: "MatMulNBits", domain: "com.microsoft", inputs, attrs, output });
      replaced++;
    }
  }
  return { replaced, tied: found.filter((w) => w.transposed).map((w) => w.initializer) };
}
