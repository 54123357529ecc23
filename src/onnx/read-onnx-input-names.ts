import { open } from "node:fs/promises";
import { forEachField, WindowReader } from "./protobuf-file-reader.js";

/** ModelProto.graph, GraphProto.input, ValueInfoProto.name field numbers (onnx.proto3). */
const MODEL_GRAPH = 7;
const GRAPH_INPUT = 11;
const VALUE_INFO_NAME = 1;

/**
 * The graph input names of an ONNX file, read straight from the protobuf without
 * onnxruntime (only runtime/ may load it) and without reading the weights: fields
 * are skipped by seeking. Used by the scanner to detect generative models.
 * @throws Error when the file is not a readable ONNX protobuf.
 */
export async function readOnnxInputNames(modelPath: string): Promise<string[]> {
  const file = await open(modelPath, "r");
  try {
    const reader = new WindowReader(file);
    const { size } = await file.stat();
    const names: string[] = [];
    await forEachField(reader, 0, size, async (field, from, to) => {
      if (field !== MODEL_GRAPH) return;
      await forEachField(reader, from, to, async (graphField, inFrom, inTo) => {
        if (graphField !== GRAPH_INPUT) return;
        await forEachField(reader, inFrom, inTo, async (infoField, nameFrom, nameTo) => {
          if (infoField !== VALUE_INFO_NAME) return;
          names.push((await reader.bytes(nameFrom, nameTo - nameFrom)).toString("utf8"));
        });
      });
    });
    return names;
  } finally {
    await file.close();
  }
}
