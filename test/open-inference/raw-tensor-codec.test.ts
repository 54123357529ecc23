import { describe, expect, it } from "vitest";
import {
  bytesToStrings,
  decodeBytesElements,
  encodeBytesElements,
  encodeRawTensor,
} from "../../src/open-inference/raw-tensor-codec.js";

describe("raw tensor codec", () => {
  it("writes BYTES elements as 4-byte little-endian lengths then UTF-8", () => {
    const raw = encodeBytesElements(["ab", "", "é"]);
    expect([...raw]).toEqual([2, 0, 0, 0, 97, 98, 0, 0, 0, 0, 2, 0, 0, 0, 0xc3, 0xa9]);
    expect(bytesToStrings(decodeBytesElements("s", raw, 3))).toEqual(["ab", "", "é"]);
  });

  it("refuses BYTES contents whose lengths or count do not fit", () => {
    const raw = encodeBytesElements(["abc"]);
    expect(() => decodeBytesElements("s", raw.subarray(0, 5), 1)).toThrow(
      /element 0 declares 3 bytes but only 1 remain/,
    );
    expect(() => decodeBytesElements("s", raw.subarray(0, 2), 1)).toThrow(/length prefix/);
    expect(() => decodeBytesElements("s", raw, 2)).toThrow(/needs 2 BYTES elements but .* hold 1/);
  });

  it("returns numeric tensors as little-endian views of their buffer", () => {
    const data = Float32Array.of(1, -2);
    const raw = encodeRawTensor({ dtype: "float32", dims: [2], data });
    expect(raw.buffer).toBe(data.buffer);
    expect([...raw]).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
    const int64 = encodeRawTensor({ dtype: "int64", dims: [1], data: BigInt64Array.of(-1n) });
    expect([...int64]).toEqual([255, 255, 255, 255, 255, 255, 255, 255]);
  });
});
