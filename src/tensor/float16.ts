/**
 * IEEE 754 half-precision conversion. onnxruntime-node takes float16 tensors as raw
 * half bits in a Uint16Array, while clients send (and read) plain numbers.
 */

const SUBNORMAL_LIMIT = 2 ** -14;
/** Halfway between the largest half (65504) and 65536: from here on, rounding gives Infinity. */
const OVERFLOW_LIMIT = 65520;

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Half bits of a number, rounded to nearest, ties to even, directly from the double
 * (no intermediate float32, which could round twice). NaN becomes the quiet NaN 0x7e00.
 */
export function toFloat16Bits(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const a = Math.abs(value);
  if (a >= OVERFLOW_LIMIT) return sign | 0x7c00;
  // Subnormals are multiples of 2^-24; a mantissa rounding up to 1024 is exactly the
  // smallest normal's bit pattern, so no special case is needed.
  if (a < SUBNORMAL_LIMIT) return sign | roundHalfEven(a * 2 ** 24);
  let exponent = Math.floor(Math.log2(a));
  if (2 ** exponent > a) exponent -= 1;
  else if (2 ** (exponent + 1) <= a) exponent += 1;
  const mantissa = roundHalfEven((a / 2 ** exponent - 1) * 1024);
  // A mantissa of 1024 carries into the exponent, which is the correct rounding.
  return sign | (((exponent + 15) << 10) + mantissa);
}

/** The number that half bits encode (exact: every half is a double). */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Converts numbers to a Uint16Array of half bits. */
export function toFloat16Array(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toFloat16Bits(values[i] as number);
  return out;
}

/** Converts half bits to plain numbers. */
export function fromFloat16Array(bits: Uint16Array): number[] {
  const out = new Array<number>(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = fromFloat16Bits(bits[i] as number);
  return out;
}
