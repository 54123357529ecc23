import { readFile } from "node:fs/promises";
import { castFloat16Io } from "../../onnx/float16-io.js";
import {
  mayHoldMatMulNBits,
  setMatMulNBitsAccuracyLevel,
} from "../../onnx/matmul-nbits-accuracy.js";
import {
  findMatMulNBitsLevels,
  patchLevels,
  restoreLevels,
  roundingLevelOffsets,
} from "../../onnx/matmul-nbits-levels.js";
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
 * Reads the decoder at `modelPath` and applies `edits`. The level is set in the
 * bytes read, in place, where every MatMulNBits node has one to overwrite
 * (matmul-nbits-levels.ts); otherwise the graph is decoded and re-encoded, and only
 * when something changed. Both the export's session and the rewritten one are built
 * from these bytes, so the rewrite's check compares like with like.
 * @throws what readFile throws, and Error when the graph cannot be decoded.
 */
export async function readModelForLoad(
  modelPath: string,
  edits: LoadTimeEdits,
): Promise<ModelForLoad> {
  const bytes = await readFile(modelPath);
  const level = edits.matmulNBitsAccuracyLevel;
  if (level === undefined || !mayHoldMatMulNBits(bytes)) return { bytes, edited: false };
  const sites = findMatMulNBitsLevels(bytes);
  if (sites.unpatchable === 0) {
    const changed = sites.offsets.filter((offset) => bytes[offset] !== level);
    patchLevels(bytes, changed, level);
    return { bytes, edited: changed.length > 0 };
  }
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
 * Runs `use` while `model`'s activation-rounding MatMulNBits nodes (accuracy_level 2-4)
 * are at level 0, for the append-KV check, and puts their levels back when it settles.
 * The bytes are patched in place, no copy made: `use` must be done with them (a session
 * created from them) when it settles. `use` is told whether any node was changed; when
 * none was, the check runs on the graph as served.
 * @throws what `use` throws, and Error when the bytes are not a well-formed model.
 */
export async function withExactMatMulNBits<T>(
  model: Uint8Array,
  use: (exact: boolean) => Promise<T>,
): Promise<T> {
  const rounding = mayHoldMatMulNBits(model) ? roundingLevelOffsets(model) : [];
  const held = patchLevels(model, rounding, 0);
  try {
    return await use(rounding.length > 0);
  } finally {
    restoreLevels(model, rounding, held);
  }
}
