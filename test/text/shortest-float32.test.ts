import { describe, expect, it } from "vitest";
import { shortestFloat32 } from "../../src/text/shortest-float32.js";

describe("shortestFloat32", () => {
  it("gives the decimal a client wrote for a float32 field", () => {
    expect(shortestFloat32(Math.fround(-0.1))).toBe(-0.1);
    expect(Math.fround(-0.1)).toBe(-0.10000000149011612);
    expect(shortestFloat32(Math.fround(0.7))).toBe(0.7);
    expect(shortestFloat32(Math.fround(1.0000001))).toBe(1.0000001);
    expect(shortestFloat32(Math.fround(2.3))).toBe(2.3);
    expect(shortestFloat32(Math.fround(123456.79))).toBe(123456.79);
    expect(shortestFloat32(Math.fround(3.4028235e38))).toBe(3.4028235e38);
    expect(shortestFloat32(Math.fround(1e-45))).toBe(1e-45);
    expect(shortestFloat32(Math.fround(16777216))).toBe(16777216);
  });

  it("keeps exact small values and never changes the float32", () => {
    for (const x of [0, 1, -2, 0.5, 100, 0.25]) expect(shortestFloat32(x)).toBe(x);
    const significant = (x: number) =>
      x
        .toExponential()
        .replace(/^-|e.*$|\./g, "")
        .replace(/0+$/, "").length;
    let state = 12345;
    for (let i = 0; i < 2000; i++) {
      state = (state * 1103515245 + 12345) % 2 ** 31; // seeded: the same values every run
      const f = Math.fround((state / 2 ** 31 - 0.5) * 10 ** ((i % 60) - 30));
      expect(Math.fround(shortestFloat32(f))).toBe(f);
      expect(significant(shortestFloat32(f))).toBeLessThanOrEqual(9);
    }
  });

  it("leaves doubles that are no float32, and non-finite values, as they are", () => {
    expect(shortestFloat32(0.1)).toBe(0.1);
    expect(shortestFloat32(0.30000000000000004)).toBe(0.30000000000000004);
    expect(shortestFloat32(16777217)).toBe(16777217);
    expect(shortestFloat32(Number.NaN)).toBeNaN();
    expect(shortestFloat32(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
  });
});
