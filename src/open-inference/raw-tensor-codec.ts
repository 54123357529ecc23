import { invalidArgument } from "../errors/inferd-error.js";
import { bytesPerElement, type DType, type HostTensor } from "../tensor/host-tensor.js";

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * Encodes BYTES elements as the protocol's raw form: each element a 4-byte
 * little-endian length, then its bytes. Strings are written as UTF-8.
 */
export function encodeBytesElements(elements: readonly (string | Uint8Array)[]): Uint8Array {
  const encoded = elements.map((e) => (typeof e === "string" ? utf8.encode(e) : e));
  const total = encoded.reduce((sum, e) => sum + 4 + e.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const e of encoded) {
    view.setUint32(at, e.length, true);
    out.set(e, at + 4);
    at += 4 + e.length;
  }
  return out;
}

/**
 * Splits raw BYTES contents into `count` elements (views into `bytes`). Throws
 * invalid_argument naming the input when a length runs past the end or the
 * element count differs from the shape's.
 */
export function decodeBytesElements(input: string, bytes: Uint8Array, count: number): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const elements: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) {
      throw invalidArgument(
        `input "${input}": raw BYTES contents end inside a 4-byte length prefix at byte ${at}`,
      );
    }
    const length = view.getUint32(at, true);
    if (at + 4 + length > bytes.length) {
      throw invalidArgument(
        `input "${input}": raw BYTES element ${elements.length} declares ${length} bytes but only ${bytes.length - at - 4} remain`,
      );
    }
    elements.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  if (elements.length !== count) {
    throw invalidArgument(
      `input "${input}": the shape needs ${count} BYTES elements but the raw contents hold ${elements.length}`,
    );
  }
  return elements;
}

/** UTF-8 decoding of BYTES elements into the strings inferd's string tensors hold. */
export function bytesToStrings(elements: readonly Uint8Array[]): string[] {
  return elements.map((e) => utf8Decoder.decode(e));
}

/**
 * Checks the byte length of a fixed-size raw input: `count` elements of `dtype`.
 * Throws invalid_argument naming the input with both lengths.
 */
export function checkRawLength(
  input: string,
  dtype: DType,
  count: number,
  bytes: Uint8Array,
): void {
  const expected = count * bytesPerElement(dtype);
  if (bytes.length !== expected) {
    throw invalidArgument(
      `input "${input}": the shape needs ${expected} raw bytes (${count} x ${bytesPerElement(dtype)}) but the raw contents hold ${bytes.length}`,
    );
  }
}

/**
 * A tensor's raw contents: its elements little-endian and row-major (the host's
 * order; every platform Node supports is little-endian), bool as 0/1 bytes, FP16 as
 * its IEEE half bits, strings as {@link encodeBytesElements}. Numeric tensors are
 * returned as a view of their buffer, not copied.
 */
export function encodeRawTensor(tensor: HostTensor): Uint8Array {
  if (Array.isArray(tensor.data)) return encodeBytesElements(tensor.data as string[]);
  const view = tensor.data as Exclude<HostTensor["data"], string[]>;
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}
