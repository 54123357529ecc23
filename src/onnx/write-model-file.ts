import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import onnxProto from "onnx-proto";
import { type ExternalDataReader, externalDataRef } from "./external-data.js";
import type { OnnxGraph, OnnxTensor } from "./onnx-graph.js";

const { onnx } = onnxProto;

/**
 * The largest model written with its weights inline: a protobuf message cannot
 * exceed 2 GiB, and onnxruntime refuses a ModelProto that does; 1.8 GiB leaves room
 * for the graph itself.
 */
export const INLINE_LIMIT_BYTES = 1.8 * 2 ** 30;

/** Initializers smaller than this stay inline in external mode (onnx's own default). */
const EXTERNAL_THRESHOLD = 1024;

/** What {@link writeModelFile} wrote. */
export interface WrittenModel {
  /** Bytes of the model file. */
  readonly modelBytes: number;
  /** The external data file's name beside the model, when the weights went there. */
  readonly dataFile: string | undefined;
  /** Bytes of that file (0 when inline). */
  readonly dataBytes: number;
}

/**
 * Writes `graph` (pruned first) to `output`. Weights of external data files (read
 * through `external`, one tensor at a time) come inline when the whole model stays
 * under `inlineLimitBytes`, so the copy is one self-contained file; else every
 * initializer of 1 KiB or more goes to `<output name>_data` beside it, as onnx saves
 * large models. Mutates the graph's initializers.
 * @throws Error when the graph keeps external weights and `external` is absent, or
 *   the data file to write is one the weights are read from.
 */
export function writeModelFile(
  graph: OnnxGraph,
  output: string,
  external: ExternalDataReader | undefined,
  inlineLimitBytes = INLINE_LIMIT_BYTES,
): WrittenModel {
  graph.prune();
  const tensors = graph.initializers;
  const size = tensors.reduce((n, t) => n + tensorSize(t), 0);
  if (size <= inlineLimitBytes) {
    for (const t of tensors) if (externalDataRef(t)) inline(t, readOf(external)(t));
    const bytes = graph.finish();
    writeFileSync(output, bytes);
    return { modelBytes: bytes.length, dataFile: undefined, dataBytes: 0 };
  }
  const dataFile = `${basename(output)}_data`;
  const dataPath = resolve(dirname(output), dataFile);
  if (graph.externalDataFiles().some((f) => resolve(external?.dir ?? "", f) === dataPath)) {
    throw new Error(`${dataFile} would overwrite the weights it is read from`);
  }
  const fd = openSync(dataPath, "w");
  let offset = 0;
  try {
    for (const t of tensors) {
      const ref = externalDataRef(t);
      if (!ref && (t.rawData?.length ?? 0) < EXTERNAL_THRESHOLD) continue;
      const bytes = ref ? readOf(external)(t) : (t.rawData ?? new Uint8Array(0));
      writeSync(fd, bytes, 0, bytes.length, offset);
      outline(t, dataFile, offset, bytes.length);
      offset += bytes.length;
    }
  } finally {
    closeSync(fd);
  }
  const bytes = graph.finish();
  writeFileSync(output, bytes);
  return { modelBytes: bytes.length, dataFile, dataBytes: offset };
}

/** An initializer's bytes in the finished model, its external data included. */
function tensorSize(t: OnnxTensor): number {
  return onnx.TensorProto.encode(t).len + (externalDataRef(t)?.length ?? 0);
}

function readOf(external: ExternalDataReader | undefined): (t: OnnxTensor) => Uint8Array {
  if (external) return (t) => external.read(t);
  return (t) => {
    throw new Error(`initializer "${t.name}" is in external data and no reader was given`);
  };
}

/** Holds `bytes` in the tensor itself; fields set to null are not encoded. */
function inline(t: OnnxTensor, bytes: Uint8Array): void {
  t.rawData = bytes;
  t.dataLocation = null;
  t.externalData = [];
}

function outline(t: OnnxTensor, location: string, offset: number, length: number): void {
  t.rawData = null;
  t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  t.externalData = [
    onnx.StringStringEntryProto.create({ key: "location", value: location }),
    onnx.StringStringEntryProto.create({ key: "offset", value: String(offset) }),
    onnx.StringStringEntryProto.create({ key: "length", value: String(length) }),
  ];
}
