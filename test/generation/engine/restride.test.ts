import { describe, expect, it } from "vitest";
import { copyChunks, RESTRIDE_RESERVE, restride } from "../../../src/generation/engine/restride.js";

describe("restride", () => {
  it("moves each block's used elements to a fresh, reserved buffer and zeroes the rest", () => {
    // Two blocks of 3 elements, 2 used; the third (9) is a stale spare slot.
    const layer = Float32Array.of(1, 2, 9, 3, 4, 9);
    const out = restride(layer, { rowHeads: 2, from: 3, to: 5, used: 2 });
    expect([...out]).toEqual([1, 2, 0, 0, 0, 3, 4, 0, 0, 0]);
    expect(out.buffer).not.toBe(layer.buffer);
    expect(out.buffer.byteLength).toBe(10 * RESTRIDE_RESERVE * 4);
  });

  it("grows in place while the buffer has room, then moves to a new one", () => {
    const first = restride(Float32Array.of(1, 2, 3, 4, 5, 6), {
      rowHeads: 3,
      from: 2,
      to: 3,
      used: 2,
    });
    first.set([7], 2); // a write into block 0's spare slot
    const second = restride(first, { rowHeads: 3, from: 3, to: 6, used: 3 });
    expect(second.buffer).toBe(first.buffer);
    expect([...second]).toEqual([1, 2, 7, 0, 0, 0, 3, 4, 0, 0, 0, 0, 5, 6, 0, 0, 0, 0]);
    const third = restride(second, { rowHeads: 3, from: 6, to: 7, used: 2 });
    expect(third.buffer).not.toBe(second.buffer);
    expect([...third.subarray(7, 10)]).toEqual([3, 4, 0]);
  });

  it("refuses to shrink", () => {
    expect(() => restride(new Float32Array(4), { rowHeads: 2, from: 2, to: 1, used: 1 })).toThrow(
      "cannot restride 2 to 1",
    );
  });
});

describe("copyChunks", () => {
  it("places packed chunks at a stride and offset", () => {
    const dst = new Float32Array(10);
    copyChunks(Float32Array.of(1, 2, 3, 4), dst, 2, 2, 5, 1);
    expect([...dst]).toEqual([0, 1, 2, 0, 0, 0, 3, 4, 0, 0]);
  });
});
