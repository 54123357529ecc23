import type { ExternalDataReader } from "../external-data.js";
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
 * Quantizes a serialised ONNX model with inferd's own graph editor. Weights kept in
 * external data files are left as they are (the file version,
 * {@link ./quantize-model-file.js quantizeModelFile}, reads them).
 * @throws Error on an invalid block size, or when the graph cannot be decoded.
 */
export function quantizeModel(model: Uint8Array, options: QuantizeOptions): QuantizedModel {
  const graph = OnnxGraph.decode(model);
  const changed = quantizeGraph(graph, options);
  return { bytes: graph.finish(), changed };
}

/**
 * Quantizes `graph` in place as {@link quantizeModel} does, reading weights kept in
 * external data files through `external` when given. Returns what was changed: MatMuls
 * replaced (int4, int8) or initializers converted (fp16).
 * @throws Error on an invalid block size, or an external weight that cannot be read.
 */
export function quantizeGraph(
  graph: OnnxGraph,
  options: QuantizeOptions,
  external?: ExternalDataReader,
): number {
  const keepLmHead = options.keepLmHead ?? false;
  if (options.method === "int8") return quantizeInt8(graph, keepLmHead, external);
  if (options.method === "fp16") return convertToFloat16(graph, external);
  const blockSize = options.blockSize ?? 32;
  if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) {
    throw new Error(`block size ${blockSize} is not a power of two of at least 16`);
  }
  const accuracyLevel = options.accuracyLevel ?? 4;
  return quantizeInt4(graph, { blockSize, accuracyLevel, keepLmHead, external });
}
