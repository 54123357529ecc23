import { describe, expect, it } from "vitest";
import { concatBatch, splitBatch } from "../../src/batching/concat-batch.js";
import type { HostTensor } from "../../src/tensor/host-tensor.js";

function expectKind(fn: () => unknown, kind: string, message: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(error).toMatchObject({ name: "InferdError", kind });
    expect((error as Error).message).toMatch(message);
    return;
  }
  expect.fail("expected a throw");
}

describe("concatBatch / splitBatch", () => {
  it("stacks float32 rows with trailing dims and splits them back", () => {
    const a: HostTensor = { dtype: "float32", dims: [1, 2, 2], data: Float32Array.of(1, 2, 3, 4) };
    const b: HostTensor = {
      dtype: "float32",
      dims: [2, 2, 2],
      data: Float32Array.of(5, 6, 7, 8, 9, 10, 11, 12),
    };
    const joined = concatBatch([a, b]);
    expect(joined.dims).toEqual([3, 2, 2]);
    expect(Array.from(joined.data as Float32Array)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ]);
    const [pa, pb] = splitBatch(joined, [1, 2]);
    expect(pa).toEqual(a);
    expect(pb).toEqual(b);
  });

  it("round-trips int64 as BigInt64Array, beyond 2^53", () => {
    const big = 2n ** 60n + 7n;
    const a: HostTensor = { dtype: "int64", dims: [1, 2], data: BigInt64Array.of(big, -3n) };
    const b: HostTensor = { dtype: "int64", dims: [1, 2], data: BigInt64Array.of(-big, 42n) };
    const joined = concatBatch([a, b]);
    expect(joined.data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(joined.data as BigInt64Array)).toEqual([big, -3n, -big, 42n]);
    expect(splitBatch(joined, [1, 1])).toEqual([a, b]);
  });

  it("round-trips bool bytes and float16 bits", () => {
    const bools = [
      { dtype: "bool", dims: [2], data: Uint8Array.of(1, 0) },
      { dtype: "bool", dims: [1], data: Uint8Array.of(1) },
    ] as const satisfies HostTensor[];
    const joinedBools = concatBatch(bools);
    expect(joinedBools).toEqual({ dtype: "bool", dims: [3], data: Uint8Array.of(1, 0, 1) });
    expect(splitBatch(joinedBools, [2, 1])).toEqual(bools);

    // 0x3c00 = 1.0, 0xc000 = -2.0, 0x7e00 = NaN in IEEE half precision.
    const halves: HostTensor[] = [
      { dtype: "float16", dims: [1], data: Uint16Array.of(0x3c00) },
      { dtype: "float16", dims: [2], data: Uint16Array.of(0xc000, 0x7e00) },
    ];
    const joinedHalves = concatBatch(halves);
    expect(joinedHalves.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(joinedHalves.data as Uint16Array)).toEqual([0x3c00, 0xc000, 0x7e00]);
    expect(splitBatch(joinedHalves, [1, 2])).toEqual(halves);
  });

  it("round-trips strings", () => {
    const a: HostTensor = { dtype: "string", dims: [1, 2], data: ["héllo", ""] };
    const b: HostTensor = { dtype: "string", dims: [2, 2], data: ["a", "b", "c", "🙂"] };
    const joined = concatBatch([a, b]);
    expect(joined).toEqual({
      dtype: "string",
      dims: [3, 2],
      data: ["héllo", "", "a", "b", "c", "🙂"],
    });
    expect(splitBatch(joined, [1, 2])).toEqual([a, b]);
  });

  it("gives every part its own buffer and leaves the inputs intact", () => {
    const a: HostTensor = { dtype: "int32", dims: [2], data: Int32Array.of(1, 2) };
    const joined = concatBatch([a, a]);
    (joined.data as Int32Array)[0] = 99;
    expect(Array.from(a.data as Int32Array)).toEqual([1, 2]);
    const [p, q] = splitBatch(joined, [3, 1]);
    const buffer = (t: HostTensor | undefined) => (t?.data as Int32Array | undefined)?.buffer;
    expect(buffer(p)).not.toBe(buffer(q));
    expect(buffer(p)).not.toBe(buffer(joined));
    expect(Array.from(q?.data as Int32Array)).toEqual([2]);
  });

  it("refuses mismatched trailing dims, dtypes, scalars and bad row counts", () => {
    const a: HostTensor = { dtype: "float32", dims: [1, 2], data: new Float32Array(2) };
    const b: HostTensor = { dtype: "float32", dims: [1, 3], data: new Float32Array(3) };
    const c: HostTensor = { dtype: "int32", dims: [1, 2], data: new Int32Array(2) };
    expectKind(
      () => concatBatch([a, b]),
      "invalid_argument",
      /float32\[1,3\].*all dims but the first/,
    );
    expectKind(() => concatBatch([a, c]), "invalid_argument", /int32/);
    expectKind(() => concatBatch([]), "invalid_argument", /at least one/);
    const scalar: HostTensor = { dtype: "float32", dims: [], data: new Float32Array(1) };
    expectKind(() => concatBatch([scalar]), "invalid_argument", /scalar/);
    const lying: HostTensor = { dtype: "float32", dims: [2, 2], data: new Float32Array(3) };
    expectKind(() => concatBatch([lying]), "invalid_argument", /must hold 4 elements, but holds 3/);
    expectKind(() => splitBatch(a, [2]), "invalid_argument", /1 rows into parts of 2/);
  });
});
