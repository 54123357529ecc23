import { describe, expect, it } from "vitest";
import { fromFloat16Bits, toFloat16Bits } from "../../src/tensor/float16.js";

// Expected bit patterns were produced independently with numpy (float64 -> float16 cast).
describe("toFloat16Bits", () => {
  it.each([
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [65519.99, 0x7bff],
    [65520, 0x7c00],
    [1e6, 0x7c00],
    [Number.NEGATIVE_INFINITY, 0xfc00],
    [Number.NaN, 0x7e00],
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
    [2 ** -14, 0x0400],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000], // tie between 0 and 2^-24: to even (0)
    [3 * 2 ** -25, 0x0002], // tie between 1 and 2 units: to even (2)
    [1 + 2 ** -11, 0x3c00], // tie: to even mantissa 0
    [1 + 3 * 2 ** -11, 0x3c02], // tie: to even mantissa 2
    [1 + 2 ** -11 + 2 ** -30, 0x3c01], // just above the tie
    [2 ** -14 - 2 ** -25, 0x0400], // subnormal rounding up into the smallest normal
    [5.1, 0x451a],
  ])("%d -> %s", (value, bits) => {
    expect(toFloat16Bits(value)).toBe(bits);
  });

  it("round-trips every finite half exactly", () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const exponent = (bits >> 10) & 0x1f;
      if (exponent === 0x1f) continue;
      expect(toFloat16Bits(fromFloat16Bits(bits))).toBe(bits);
    }
  });

  it("decodes known patterns", () => {
    expect(fromFloat16Bits(0x3c00)).toBe(1);
    expect(fromFloat16Bits(0xc000)).toBe(-2);
    expect(fromFloat16Bits(0x7bff)).toBe(65504);
    expect(fromFloat16Bits(0x0001)).toBe(2 ** -24);
    expect(fromFloat16Bits(0x7c00)).toBe(Number.POSITIVE_INFINITY);
    expect(fromFloat16Bits(0x7e00)).toBeNaN();
  });
});
