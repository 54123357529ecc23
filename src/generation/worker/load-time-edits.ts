import { readFile } from "node:fs/promises";
import { castFloat16Io } from "../../onnx/float16-io.js";
import {
  mayHoldMatMulNBits,
  setMatMulNBitsAccuracyLevel,
  setMatMulNBitsExact,
} from "../../onnx/matmul-nbits-accuracy.js";
import { OnnxGraph } from "../../onnx/onnx-graph.js";

/** Graph edits applied when a decoder loads, before the KV rewrite (model.json settings). */
export interface LoadTimeEdits {
  /** `accuracy_level` for every MatMulNBits node; absent: as exported. */
  readonly matmulNBitsAccuracyLevel?: number;
}

/** A decoder's bytes as they are to be served, and whether they differ from the file. */
export interface ModelForLoad {
  readonly bytes: Uint8Array;
  readonly edited: boolean;
  /** The graph has float16 inputs or outputs: serve it through {@link withFloat32Io}. */
  readonly float16Io?: boolean;
}

/**
 * Reads the decoder at `modelPath` and applies `edits`. The graph is decoded only
 * when an edit can apply (a model without MatMulNBits is returned as read), and
 * re-encoded only when something changed. Both the export's session and the
 * rewritten one are built from these bytes, so the rewrite's check compares like
 * with like.
 * @throws what readFile throws, and Error when the graph cannot be decoded.
 */
export async function readModelForLoad(
  modelPath: string,
  edits: LoadTimeEdits,
): Promise<ModelForLoad> {
  const bytes = await readFile(modelPath);
  const level = edits.matmulNBitsAccuracyLevel;
  if (level === undefined || !mayHoldMatMulNBits(bytes)) return { bytes, edited: false };
  const graph = OnnxGraph.decode(bytes);
  if (setMatMulNBitsAccuracyLevel(graph, level) === 0) return { bytes, edited: false };
  return { bytes: graph.finish(), edited: true };
}

/**
 * `model` with float32 inputs and outputs where it had float16 ones (castFloat16Io):
 * the engine's KV cache and logits are float32.
 * @throws Error when the graph cannot be decoded.
 */
export function withFloat32Io(model: Uint8Array): Uint8Array {
  const graph = OnnxGraph.decode(model);
  return castFloat16Io(graph) === 0 ? model : graph.finish();
}

/**
 * `model` with its activation-rounding MatMulNBits nodes at accuracy_level 0
 * (setMatMulNBitsExact), for the append-KV check; undefined when it has none, and
 * then the check runs on the graph as served.
 * @throws Error when the graph cannot be decoded.
 */
export function withExactMatMulNBits(model: Uint8Array): Uint8Array | undefined {
  if (!mayHoldMatMulNBits(model)) return undefined;
  const graph = OnnxGraph.decode(model);
  return setMatMulNBitsExact(graph) === 0 ? undefined : graph.finish();
}
