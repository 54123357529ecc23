import { readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { externalDataPath, openExternalData } from "../external-data.js";
import { OnnxGraph } from "../onnx-graph.js";
import { INLINE_LIMIT_BYTES, type WrittenModel, writeModelFile } from "../write-model-file.js";
import { type GraphQuantization, type QuantizeOptions, quantizeGraph } from "./quantize-model.js";

/** Options of {@link quantizeModelFile}. */
export interface QuantizeFileOptions extends QuantizeOptions {
  /** Above this many bytes the copy keeps its weights in a data file (1.8 GiB default). */
  readonly inlineLimitBytes?: number;
}

/** What {@link quantizeModelFile} read and wrote. */
export interface QuantizedFile extends WrittenModel, GraphQuantization {
  /** Bytes of the input: the model file and the external data files it names. */
  readonly inputBytes: number;
}

/**
 * Quantizes the ONNX model at `input` into `output` (see quantizeModel), weights kept
 * in external data files (location relative to the model's folder, offset, length)
 * included: each is read from its file when quantized, so neither the data file nor
 * its float32 weights are held whole. The copy holds its weights inline when under
 * `inlineLimitBytes`, else beside it (see writeModelFile).
 * @throws Error on an invalid block size, a graph that cannot be decoded, or external
 *   data that is missing, outside the model's folder or shorter than it says.
 */
export function quantizeModelFile(
  input: string,
  output: string,
  options: QuantizeFileOptions,
): QuantizedFile {
  const model = readFileSync(input);
  const graph = OnnxGraph.decode(model);
  const dataBytes = graph
    .externalDataFiles()
    .map((file) => externalDataPath(dirname(input), file, input))
    .reduce((n, path) => n + statSync(path).size, 0);
  const external = openExternalData(dirname(input));
  try {
    const changed = quantizeGraph(graph, options, external);
    const limit = options.inlineLimitBytes ?? INLINE_LIMIT_BYTES;
    const written = writeModelFile(graph, output, external, limit);
    return { ...written, ...changed, inputBytes: model.length + dataBytes };
  } finally {
    external.close();
  }
}
