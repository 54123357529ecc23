/*
 * Reading protobuf fields of a serialised message held in memory, without decoding it
 * (the in-memory counterpart of protobuf-file-reader.ts, which seeks through a file).
 */

/** Decodes the varint at `pos`: its value (exact below 2^53) and the position after it. */
export function readVarint(model: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let at = pos; at < pos + 10 && at < model.length; at++) {
    const byte = model[at] ?? 0;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) return [value, at + 1];
  }
  throw new Error("truncated or malformed protobuf varint");
}

/**
 * Calls `onLength` for each LEN field of the message in [start, end) with its extent,
 * and `onVarint` for each varint field with the extent of its value; others are skipped.
 */
export function forEachField(
  model: Uint8Array,
  start: number,
  end: number,
  onLength: (field: number, from: number, to: number) => void,
  onVarint?: (field: number, from: number, to: number) => void,
): void {
  let pos = start;
  while (pos < end) {
    const [tag, afterTag] = readVarint(model, pos);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      pos = readVarint(model, afterTag)[1];
      onVarint?.(field, afterTag, pos);
    } else if (wire === 1) pos = afterTag + 8;
    else if (wire === 5) pos = afterTag + 4;
    else if (wire === 2) {
      const [length, from] = readVarint(model, afterTag);
      pos = from + length;
      if (pos > end) throw new Error("protobuf field runs past its message");
      onLength(field, from, pos);
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}
