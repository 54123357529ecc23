/**
 * How many times field `fieldNumber` occurs at the top level of the protobuf message in
 * `bytes`, read from the wire without decoding: each tag is read, the field's value is
 * skipped (varints, fixed 32/64-bit, length-delimited by its length), nothing is
 * allocated. Why: a repeated message field (BatchPredict's items) can be counted in a
 * few milliseconds for a 16 MiB body whose full decode holds the event loop for
 * seconds, so a call over a count limit is refused before it is decoded.
 * Returns undefined when the bytes are not a well-formed message (a truncated value, a
 * group, a bad wire type): the decoder then reports the fault in its own words.
 */
export function countFieldTags(bytes: Uint8Array, fieldNumber: number): number | undefined {
  let count = 0;
  let pos = 0;
  while (pos < bytes.length) {
    const tag = readVarint(bytes, pos);
    if (tag === undefined) return undefined;
    pos = tag.end;
    if (Math.floor(tag.value / 8) === fieldNumber) count++;
    const end = skipValue(bytes, pos, tag.value % 8);
    if (end === undefined || end > bytes.length) return undefined;
    pos = end;
  }
  return count;
}

/** The end of the value of wire type `wireType` that starts at `pos`; undefined if unknown. */
function skipValue(bytes: Uint8Array, pos: number, wireType: number): number | undefined {
  switch (wireType) {
    case 0:
      return readVarint(bytes, pos)?.end;
    case 1:
      return pos + 8;
    case 2: {
      const length = readVarint(bytes, pos);
      return length === undefined ? undefined : length.end + length.value;
    }
    case 5:
      return pos + 4;
    default:
      return undefined;
  }
}

/**
 * A varint's value (exact up to 2^53, enough for tags and lengths of bodies this size)
 * and the position after it; undefined if truncated or longer than 10 bytes.
 */
function readVarint(bytes: Uint8Array, pos: number): { value: number; end: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = pos; i < bytes.length && i < pos + 10; i++) {
    const byte = bytes[i] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return { value, end: i + 1 };
    scale *= 128;
  }
  return undefined;
}
