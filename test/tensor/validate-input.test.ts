import { describe, expect, it } from "vitest";
import { InferdError } from "../../src/errors/inferd-error.js";
import type { TensorSpec } from "../../src/tensor/host-tensor.js";
import type { TensorInput } from "../../src/tensor/tensor-input.js";
import { materializeInput, validateInputs } from "../../src/tensor/validate-input.js";

const x: TensorSpec = { name: "x", dtype: "float32", dims: [-1, 4], dimNames: ["batch_size", ""] };
const floats = (dims: number[], data: number[]): TensorInput => ({
  dims,
  values: { kind: "float", data },
});

function invalid(fn: () => unknown, ...fragments: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InferdError);
  const error = caught as InferdError;
  expect(error.kind).toBe("invalid_argument");
  for (const fragment of fragments) expect(error.message).toContain(fragment);
}

describe("materializeInput", () => {
  it("infers the dtype from the spec and keeps values", () => {
    const t = materializeInput(x, "x", floats([2, 4], [1, 2, 3, 4, 5, 6, 7, 8.5]));
    expect(t.dtype).toBe("float32");
    expect(t.dims).toEqual([2, 4]);
    expect(Array.from(t.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8.5]);
  });

  it("converts float_data to float16 bits", () => {
    const spec: TensorSpec = { name: "h", dtype: "float16", dims: [3], dimNames: [] };
    const t = materializeInput(spec, "h", floats([3], [1, -2, 65504]));
    expect(t.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(t.data as Uint16Array)).toEqual([0x3c00, 0xc000, 0x7bff]);
  });

  it("decodes little-endian raw_data from an unaligned offset", () => {
    const buffer = new Uint8Array(1 + 16);
    new DataView(buffer.buffer).setFloat32(1, 1.5, true);
    new DataView(buffer.buffer).setFloat32(13, -3, true);
    const t = materializeInput(x, "x", {
      dims: [1, 4],
      values: { kind: "raw", bytes: buffer.subarray(1) },
    });
    expect(Array.from(t.data as Float32Array)).toEqual([1.5, 0, 0, -3]);
  });

  it("copies raw_data that is a view of a Node Buffer (whose slice() does not copy)", () => {
    const pool = Buffer.alloc(64, 7);
    pool.writeFloatLE(2.5, 9);
    const t = materializeInput(x, "x", {
      dims: [1, 4],
      values: { kind: "raw", bytes: pool.subarray(9, 25) },
    });
    expect(t.data).toBeInstanceOf(Float32Array);
    expect((t.data as Float32Array).length).toBe(4);
    expect((t.data as Float32Array)[0]).toBe(2.5);
  });

  it("views aligned raw_data in place (no copy) with its own offset and length", () => {
    const body = Buffer.alloc(64);
    body.writeFloatLE(2.5, 8);
    body.writeFloatLE(-1, 20);
    const t = materializeInput(x, "x", {
      dims: [1, 4],
      values: { kind: "raw", bytes: body.subarray(8, 24) },
    });
    const data = t.data as Float32Array;
    expect(data).toBeInstanceOf(Float32Array);
    expect(data.buffer).toBe(body.buffer);
    expect(data.byteOffset).toBe(body.byteOffset + 8);
    expect(Array.from(data)).toEqual([2.5, 0, 0, -1]);
  });

  it("copies raw int64 and float64 at an odd offset once and decodes them right", () => {
    const buffer = new Uint8Array(3 + 16);
    const view = new DataView(buffer.buffer);
    view.setBigInt64(3, -5n, true);
    view.setBigInt64(11, 1n << 40n, true);
    const i64: TensorSpec = { name: "ids", dtype: "int64", dims: [2], dimNames: [] };
    const ids = materializeInput(i64, "ids", {
      dims: [2],
      values: { kind: "raw", bytes: buffer.subarray(3) },
    }).data as BigInt64Array;
    expect(Array.from(ids)).toEqual([-5n, 1n << 40n]);
    expect(ids.buffer).not.toBe(buffer.buffer);
    view.setFloat64(3, Math.PI, true);
    view.setFloat64(11, -0.25, true);
    const f64: TensorSpec = { name: "d", dtype: "float64", dims: [2], dimNames: [] };
    const d = materializeInput(f64, "d", {
      dims: [2],
      values: { kind: "raw", bytes: buffer.subarray(3) },
    });
    expect(Array.from(d.data as Float64Array)).toEqual([Math.PI, -0.25]);
  });

  it("normalizes raw bool bytes to 0/1 in a copy", () => {
    const bytes = Uint8Array.from([0, 2, 1, 255]);
    const b: TensorSpec = { name: "mask", dtype: "bool", dims: [4], dimNames: [] };
    const t = materializeInput(b, "mask", { dims: [4], values: { kind: "raw", bytes } });
    expect(Array.from(t.data as Uint8Array)).toEqual([0, 1, 1, 1]);
    expect(Array.from(bytes)).toEqual([0, 2, 1, 255]);
  });

  it("widens int_data to int64 and converts bools to bytes", () => {
    const i64: TensorSpec = { name: "ids", dtype: "int64", dims: [2], dimNames: [] };
    expect(
      materializeInput(i64, "ids", { dims: [2], values: { kind: "int", data: [7, -1] } }).data,
    ).toEqual(BigInt64Array.from([7n, -1n]));
    const b: TensorSpec = { name: "mask", dtype: "bool", dims: [3], dimNames: [] };
    const t = materializeInput(b, "mask", {
      dims: [3],
      values: { kind: "bool", data: [true, false, true] },
    });
    expect(Array.from(t.data as Uint8Array)).toEqual([1, 0, 1]);
  });

  it("accepts a zero-element tensor without data", () => {
    expect(materializeInput(x, "x", { dims: [0, 4] }).data).toHaveLength(0);
  });

  it("rejects a dtype mismatch", () => {
    invalid(
      () => materializeInput(x, "x", { ...floats([1, 4], [1, 2, 3, 4]), dtype: "float64" }),
      '"x"',
      "float64",
      "float32",
    );
  });
  it("rejects a rank mismatch", () => {
    invalid(() => materializeInput(x, "x", floats([4], [1, 2, 3, 4])), '"x"', "rank 1");
  });
  it("rejects a fixed-dimension mismatch", () => {
    invalid(
      () => materializeInput(x, "x", floats([1, 3], [1, 2, 3])),
      '"x"',
      "dimension 1 is 3",
      "requires 4",
    );
  });
  it("rejects negative dims", () => {
    invalid(
      () => materializeInput(x, "x", floats([-1, 4], [1, 2, 3, 4])),
      '"x"',
      "dimension 0 is -1",
    );
  });
  it("rejects an element count that does not match the shape", () => {
    invalid(
      () => materializeInput(x, "x", floats([2, 4], [1, 2, 3, 4])),
      '"x"',
      "needs 8 values",
      "has 4",
    );
  });
  it("rejects raw bytes that do not match dtype x shape", () => {
    invalid(
      () =>
        materializeInput(x, "x", {
          dims: [1, 4],
          values: { kind: "raw", bytes: new Uint8Array(15) },
        }),
      '"x"',
      "16 bytes",
      "has 15",
    );
  });
  it("rejects a field that cannot carry the dtype", () => {
    invalid(
      () =>
        materializeInput(x, "x", {
          dims: [1, 4],
          values: { kind: "int64", data: [1n, 2n, 3n, 4n] },
        }),
      '"x"',
      "int64_data cannot carry float32",
      "float_data",
    );
  });
  it("rejects strings in raw_data", () => {
    const s: TensorSpec = { name: "text", dtype: "string", dims: [1], dimNames: [] };
    invalid(
      () =>
        materializeInput(s, "text", {
          dims: [1],
          values: { kind: "raw", bytes: new Uint8Array(1) },
        }),
      '"text"',
      "raw_data",
    );
  });
  it("rejects more than one data field", () => {
    invalid(
      () =>
        materializeInput(x, "x", {
          ...floats([1, 4], [1, 2, 3, 4]),
          setFields: ["float_data", "int_data"],
        }),
      '"x"',
      "more than one data field",
      "float_data, int_data",
    );
  });
  it.each([
    ["int8", 128],
    ["int8", -129],
    ["int16", 32768],
    ["uint8", -1],
    ["uint8", 256],
  ] as const)("rejects int_data out of range for %s (%d)", (dtype, value) => {
    const spec: TensorSpec = { name: "q", dtype, dims: [2], dimNames: [] };
    invalid(
      () => materializeInput(spec, "q", { dims: [2], values: { kind: "int", data: [0, value] } }),
      '"q"',
      `int_data[1] = ${value}`,
      dtype,
    );
  });
  it("accepts int_data at the range limits", () => {
    const spec: TensorSpec = { name: "q", dtype: "int8", dims: [2], dimNames: [] };
    expect(
      Array.from(
        materializeInput(spec, "q", { dims: [2], values: { kind: "int", data: [-128, 127] } })
          .data as Int8Array,
      ),
    ).toEqual([-128, 127]);
  });
  it("rejects missing data for a non-empty shape", () => {
    invalid(() => materializeInput(x, "x", { dims: [1, 4] }), '"x"', "no data field");
  });
});

describe("validateInputs", () => {
  const mask: TensorSpec = {
    name: "mask",
    dtype: "int64",
    dims: [-1, -1],
    dimNames: ["batch_size", "seq"],
  };
  const ids: TensorSpec = {
    name: "ids",
    dtype: "int64",
    dims: [-1, -1],
    dimNames: ["batch_size", "seq"],
  };
  const ints = (dims: number[]): TensorInput => ({
    dims,
    values: { kind: "int", data: new Array<number>(dims.reduce((a, b) => a * b, 1)).fill(1) },
  });

  it("materializes every input", () => {
    const out = validateInputs([ids, mask], { ids: ints([2, 3]), mask: ints([2, 3]) });
    expect(Object.keys(out).sort()).toEqual(["ids", "mask"]);
    expect(out.ids?.data).toEqual(BigInt64Array.from([1n, 1n, 1n, 1n, 1n, 1n]));
  });
  it("rejects a missing input", () => {
    invalid(
      () => validateInputs([ids, mask], { ids: ints([1, 1]) }),
      'missing input "mask"',
      "ids, mask",
    );
  });
  it("rejects an unknown input and lists the expected names", () => {
    invalid(
      () =>
        validateInputs([ids, mask], {
          ids: ints([1, 1]),
          mask: ints([1, 1]),
          tokens: ints([1, 1]),
        }),
      '"tokens"',
      "ids, mask",
    );
  });
  it("rejects inputs that disagree on a shared symbolic dimension", () => {
    invalid(
      () => validateInputs([ids, mask], { ids: ints([2, 3]), mask: ints([2, 4]) }),
      '"ids"',
      '"mask"',
      '"seq"',
      "3 vs 4",
    );
  });
});
