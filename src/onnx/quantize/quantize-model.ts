import type { ExternalDataReader } from "../external-data.js";
import { OnnxGraph } from "../onnx-graph.js";
import { convertToFloat16 } from "./convert-fp16.js";
import { quantizeInt4 } from "./quantize-int4.js";
import { quantizeInt8 } from "./quantize-int8.js";
import type { ReplacedMatMuls } from "./weight-matmuls.js";

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

/** What {@link quantizeGraph} changed. */
export interface GraphQuantization {
  /** MatMuls replaced (int4, int8) or initializers converted (fp16). */
  readonly changed: number;
  /**
   * int4, int8: the embeddings whose tied output projection (a MatMul by their
   * Transpose) was quantized; empty when none was (untied, `keepLmHead`, fp16).
   */
  readonly tied: readonly string[];
}

/** A quantized model and what was changed. */
export interface QuantizedModel extends GraphQuantization {
  readonly bytes: Uint8Array;
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
  return { bytes: graph.finish(), ...changed };
}

/**
 * Quantizes `graph` in place as {@link quantizeModel} does, reading weights kept in
 * external data files through `external` when given. Returns what was changed.
 * @throws Error on an invalid block size, or an external weight that cannot be read.
 */
export function quantizeGraph(
  graph: OnnxGraph,
  options: QuantizeOptions,
  external?: ExternalDataReader,
): GraphQuantization {
  const keepLmHead = options.keepLmHead ?? false;
  const replaced = ({ replaced: changed, tied }: ReplacedMatMuls) => ({ changed, tied });
  if (options.method === "int8") return replaced(quantizeInt8(graph, keepLmHead, external));
  if (options.method === "fp16") return { changed: convertToFloat16(graph, external), tied: [] };
  const blockSize = options.blockSize ?? 32;
  if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) {
    throw new Error(`block size ${blockSize} is not a power of two of at least 16`);
  }
  const accuracyLevel = options.accuracyLevel ?? 4;
  return replaced(quantizeInt4(graph, { blockSize, accuracyLevel, keepLmHead, external }));
}
