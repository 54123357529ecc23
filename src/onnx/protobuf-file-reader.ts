import type { FileHandle } from "node:fs/promises";

/*
 * Reading protobuf fields of a large file by seeking, for the ONNX readers of this
 * folder: an ONNX file's weights can be gigabytes, its structure a few kilobytes.
 */

const WINDOW = 64 * 1024;

/** Reads bytes of a file through a sliding window, so large weights are skipped, never read. */
export class WindowReader {
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

/**
 * Calls `visit` for each LEN field of the message in [start, end) with its extent,
 * and `onVarint` (when given) for each varint field with its value; others are skipped.
 */
export async function forEachField(
  reader: WindowReader,
  start: number,
  end: number,
  visit: (field: number, from: number, to: number) => Promise<void>,
  onVarint?: (field: number, value: number) => void,
): Promise<void> {
  let pos = start;
  while (pos < end) {
    const [tag, afterTag] = await reader.varint(pos);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      const [value, after] = await reader.varint(afterTag);
      onVarint?.(field, value);
      pos = after;
    } else if (wire === 1) pos = afterTag + 8;
    else if (wire === 5) pos = afterTag + 4;
    else if (wire === 2) {
      const [length, from] = await reader.varint(afterTag);
      pos = from + length;
      await visit(field, from, pos);
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}
