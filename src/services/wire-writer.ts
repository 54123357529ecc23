/** The bytes of `v` as a protobuf varint (a non-negative integer below 2^53). */
export function varintSize(v: number): number {
  let size = 1;
  while (v > 0x7f) {
    v = Math.floor(v / 128);
    size++;
  }
  return size;
}

/** True when every character of `s` is ASCII: its UTF-8 bytes are then its char codes. */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * Protobuf wire values written into one buffer whose size was computed beforehand, for
 * the hand-written encoders (`encode-predict-response.ts`, `encode-model-infer-response.ts`).
 * The buffer comes from Node's pool uninitialised: every byte is written before it is
 * read, since the size is exact. Text must be ASCII (see {@link isAscii}).
 */
export class WireWriter {
  pos = 0;
  readonly bytes: Uint8Array;
  /** Made on the first float written. */
  #view: DataView | undefined;

  constructor(size: number) {
    this.bytes = Buffer.allocUnsafe(size);
  }

  /** One byte: a tag whose field number and wire type fit in 7 bits. */
  tag(tag: number): void {
    this.bytes[this.pos++] = tag;
  }

  varint(v: number): void {
    while (v > 0x7f) {
      this.bytes[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.bytes[this.pos++] = v;
  }

  /** A length-delimited ASCII text field, written even when empty. */
  text(tag: number, s: string): void {
    this.bytes[this.pos++] = tag;
    this.varint(s.length);
    for (let i = 0; i < s.length; i++) this.bytes[this.pos++] = s.charCodeAt(i);
  }

  /** A length-delimited bytes field. */
  data(tag: number, data: Uint8Array): void {
    this.bytes[this.pos++] = tag;
    this.varint(data.length);
    this.bytes.set(data, this.pos);
    this.pos += data.length;
  }

  /** A packed float (4) or double (8) field; nothing for no values. */
  floats(tag: number, values: readonly number[], size: 4 | 8): void {
    if (values.length === 0) return;
    this.bytes[this.pos++] = tag;
    this.varint(values.length * size);
    this.#view ??= new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    const view = this.#view;
    let p = this.pos;
    for (let i = 0; i < values.length; i++, p += size) {
      if (size === 4) view.setFloat32(p, values[i] as number, true);
      else view.setFloat64(p, values[i] as number, true);
    }
    this.pos = p;
  }
}
