import { OnnxGraph } from "../onnx-graph.js";
import { convertToFloat16 } from "./convert-fp16.js";
import { quantizeInt4 } from "./quantize-int4.js";
import { quantizeInt8 } from "./quantize-int8.js";

/** The weight formats `inferd quantize` writes. */
export type QuantizeMethod = "int4" | "int8" | "fp16";

/** Options of {@link quantizeModel}. */
export interface QuantizeOptions {
  readonly method: QuantizeMethod;
  /** int4: values per block along K (32 default; 128 reads slightly fewer bytes). */
  readonly blockSize?: number;
  /** int4: MatMulNBits accuracy_level written into the file (4 default). */
  readonly accuracyLevel?: number;
  /** int4/int8: keep the output projection in float32. */
  readonly keepLmHead?: boolean;
}

/** A quantized model and what was changed. */
export interface QuantizedModel {
  readonly bytes: Uint8Array;
  /** MatMuls replaced (int4, int8) or initializers converted (fp16). */
  readonly changed: number;
}

/**
 * Quantizes a serialised ONNX model with inferd's own graph editor.
 * @throws Error on an invalid block size, or when the graph cannot be decoded.
 */
export function quantizeModel(model: Uint8Array, options: QuantizeOptions): QuantizedModel {
  const graph = OnnxGraph.decode(model);
  const keepLmHead = options.keepLmHead ?? false;
  let changed: number;
  if (options.method === "int4") {
    const blockSize = options.blockSize ?? 32;
    if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) {
      throw new Error(`block size ${blockSize} is not a power of two of at least 16`);
    }
    const accuracyLevel = options.accuracyLevel ?? 4;
    changed = quantizeInt4(graph, { blockSize, accuracyLevel, keepLmHead });
  } else if (options.method === "int8") {
    changed = quantizeInt8(graph, keepLmHead);
  } else {
    changed = convertToFloat16(graph);
  }
  return { bytes: graph.finish(), changed };
}
