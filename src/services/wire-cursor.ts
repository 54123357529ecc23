/**
 * Thrown by a {@link WireCursor} read that meets anything it does not read exactly as
 * protobuf-es would (a truncated value, a long varint, non-ASCII text...): the caller
 * then decodes the whole message with protobuf-es instead, which keeps or refuses it in
 * its own words. A shared instance: it never leaves the decoder, so it needs no stack.
 */
export const NOT_FAST: Error = Object.freeze(new Error("not on the fast decode path"));

/**
 * `run(input)`, or undefined when it throws: {@link NOT_FAST}, bad input, or any slip of
 * a hand-written codec. The one rule of every fast codec here: whatever it does not
 * answer, protobuf-es decides, in its own words.
 */
export function fastOrUndefined<I, O>(run: (input: I) => O, input: I): O | undefined {
  try {
    return run(input);
  } catch {
    return undefined;
  }
}

const ascii = new TextDecoder("latin1");

/** Whether this host stores a float32 as the wire does (every platform Node supports in practice). */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * A read position in protobuf wire bytes that reads only the plain, in-bounds cases,
 * each giving what protobuf-es's `BinaryReader` gives for them, and throws
 * {@link NOT_FAST} for the rest. Why: the lean Predict decoder is exact by construction
 * only if every value it does not reproduce bit for bit is left to protobuf-es.
 */
export class WireCursor {
  pos = 0;
  readonly #bytes: Uint8Array;
  /** Made on the first float read: a DataView costs ~90 ns, a one-field message less. */
  #dataView: DataView | undefined;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  get #view(): DataView {
    if (this.#dataView === undefined) {
      const { buffer, byteOffset, byteLength } = this.#bytes;
      this.#dataView = new DataView(buffer, byteOffset, byteLength);
    }
    return this.#dataView;
  }

  /** A varint of at most 5 bytes ending by `end`, as protobuf-es's `uint32()` reads it. */
  uint32(end: number): number {
    const bytes = this.#bytes;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= end) throw NOT_FAST;
      const b = bytes[this.pos++] as number;
      // The 5th byte gives its low 4 bits, as `varint32read` takes them.
      result |= shift === 28 ? (b & 0x0f) << 28 : (b & 0x7f) << shift;
      if (b < 0x80) return result >>> 0;
    }
    throw NOT_FAST;
  }

  /** A non-negative varint below 2^49 (7 bytes), as a number; longer ones are not fast. */
  smallUint(end: number): number {
    const bytes = this.#bytes;
    let result = 0;
    for (let scale = 1; scale < 2 ** 49; scale *= 128) {
      if (this.pos >= end) throw NOT_FAST;
      const b = bytes[this.pos++] as number;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
    }
    throw NOT_FAST;
  }

  /** The end of a length-delimited value that starts here, within `end`. */
  lengthEnd(end: number): number {
    const length = this.uint32(end);
    if (length > end - this.pos) throw NOT_FAST;
    return this.pos + length;
  }

  float(end: number): number {
    if (end - this.pos < 4) throw NOT_FAST;
    this.pos += 4;
    return this.#view.getFloat32(this.pos - 4, true);
  }

  double(end: number): number {
    if (end - this.pos < 8) throw NOT_FAST;
    this.pos += 8;
    return this.#view.getFloat64(this.pos - 8, true);
  }

  /**
   * The packed float (`size` 4) or double (8) values from here to `stop`, as a number[]
   * of their final length: ~3x faster than pushing them one by one.
   */
  packedFloats(stop: number, size: 4 | 8): number[] {
    if ((stop - this.pos) % size !== 0) throw NOT_FAST;
    const view = this.#view;
    const values = new Array<number>((stop - this.pos) / size);
    let p = this.pos;
    if (size === 4)
      for (let i = 0; i < values.length; i++, p += 4) values[i] = view.getFloat32(p, true);
    else for (let i = 0; i < values.length; i++, p += 8) values[i] = view.getFloat64(p, true);
    this.pos = stop;
    return values;
  }

  /**
   * The packed floats from here to `stop` as a Float32Array: a view of the input when
   * they start at a multiple of 4 bytes in its buffer (on a little-endian host), else a
   * copy. Why not a number[]: 8 bytes a value on the JS heap, which a request waiting in
   * a batch queue carries into the old space; an ArrayBuffer's bytes live off the heap.
   */
  packedFloat32(stop: number): Float32Array {
    if ((stop - this.pos) % 4 !== 0) throw NOT_FAST;
    const bytes = this.#bytes;
    const start = this.pos;
    const values = (stop - start) / 4;
    this.pos = stop;
    const offset = bytes.byteOffset + start;
    if (LITTLE_ENDIAN && offset % 4 === 0) return new Float32Array(bytes.buffer, offset, values);
    const copy = new Float32Array(values);
    if (LITTLE_ENDIAN) new Uint8Array(copy.buffer).set(bytes.subarray(start, stop));
    else for (let i = 0; i < values; i++) copy[i] = this.#view.getFloat32(start + 4 * i, true);
    return copy;
  }

  /** A length-delimited ASCII string; other text is left to protobuf-es's UTF-8 checks. */
  string(end: number): string {
    const stop = this.lengthEnd(end);
    const bytes = this.#bytes;
    const start = this.pos;
    for (let i = start; i < stop; i++) if ((bytes[i] as number) > 0x7f) throw NOT_FAST;
    this.pos = stop;
    if (stop - start > 32) return ascii.decode(bytes.subarray(start, stop));
    let text = "";
    for (let i = start; i < stop; i++) text += String.fromCharCode(bytes[i] as number);
    return text;
  }

  /** A length-delimited bytes value: a view of the input, as protobuf-es hands it out. */
  bytes(end: number): Uint8Array {
    const stop = this.lengthEnd(end);
    const start = this.pos;
    this.pos = stop;
    return this.#bytes.subarray(start, stop);
  }
}
