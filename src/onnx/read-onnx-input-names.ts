import { type FileHandle, open } from "node:fs/promises";

const WINDOW = 64 * 1024;
/** ModelProto.graph, GraphProto.input, ValueInfoProto.name field numbers (onnx.proto3). */
const MODEL_GRAPH = 7;
const GRAPH_INPUT = 11;
const VALUE_INFO_NAME = 1;

/** Reads bytes of a file through a sliding window, so large weights are skipped, never read. */
class WindowReader {
  private start = 0;
  private buffer = Buffer.alloc(0);
  constructor(private readonly file: FileHandle) {}

  async bytes(position: number, length: number): Promise<Buffer> {
    if (position < this.start || position + length > this.start + this.buffer.length) {
      const size = Math.max(WINDOW, length);
      const chunk = Buffer.alloc(size);
      const { bytesRead } = await this.file.read(chunk, 0, size, position);
      this.start = position;
      this.buffer = chunk.subarray(0, bytesRead);
    }
    const from = position - this.start;
    return this.buffer.subarray(from, from + length);
  }

  /** Decodes a varint at `position`; returns the value and the position after it. */
  async varint(position: number): Promise<[number, number]> {
    const bytes = await this.bytes(position, 10);
    let value = 0;
    let scale = 1;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i] ?? 0;
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if (byte < 0x80) return [value, position + i + 1];
    }
    throw new Error("truncated or malformed protobuf varint");
  }
}

/** Calls `visit` for each field of the message in [start, end); LEN fields get their extent. */
async function forEachField(
  reader: WindowReader,
  start: number,
  end: number,
  visit: (field: number, from: number, to: number) => Promise<void>,
): Promise<void> {
  let pos = start;
  while (pos < end) {
    const [tag, afterTag] = await reader.varint(pos);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) pos = (await reader.varint(afterTag))[1];
    else if (wire === 1) pos = afterTag + 8;
    else if (wire === 5) pos = afterTag + 4;
    else if (wire === 2) {
      const [length, from] = await reader.varint(afterTag);
      pos = from + length;
      await visit(field, from, pos);
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}

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
