import { describe, expect, it } from "vitest";
import { isInferdError } from "../../../src/errors/inferd-error.js";
import { jsonDataToContents } from "../../../src/http/open-inference/json-tensor-data.js";

function failure(datatype: string, shape: number[], data: unknown): string {
  try {
    jsonDataToContents("t", datatype, shape, data);
  } catch (error) {
    if (isInferdError(error) && error.kind === "invalid_argument") return error.message;
    throw error;
  }
  throw new Error("expected invalid_argument");
}

describe("jsonDataToContents", () => {
  it("reads flat and nested data alike into the datatype's contents field", () => {
    expect(jsonDataToContents("t", "FP32", [2, 2], [1, 2, 3, 4])).toEqual({ fp32: [1, 2, 3, 4] });
    expect(
      jsonDataToContents(
        "t",
        "FP32",
        [2, 2],
        [
          [1, 2],
          [3, 4],
        ],
      ),
    ).toEqual({ fp32: [1, 2, 3, 4] });
    expect(jsonDataToContents("t", "BOOL", [2], [true, false])).toEqual({ bool: [true, false] });
    expect(jsonDataToContents("t", "INT64", [2], [-3, 2 ** 53 - 1])).toEqual({
      int64: [-3n, 2n ** 53n - 1n],
    });
    expect(jsonDataToContents("t", "INT8", [1], [-7])).toEqual({ int: [-7] });
    expect(jsonDataToContents("t", "BYTES", [1, 1], [["hé"]])).toEqual({
      bytes: [new TextEncoder().encode("hé")],
    });
    expect(jsonDataToContents("t", "FP64", [0], [])).toEqual({ fp64: [] });
  });

  it("refuses data that does not fit its shape or datatype, naming the input", () => {
    expect(failure("FP32", [2, 2], [[1, 2], 3])).toBe(
      'input "t": nested data does not match the shape [2, 2]: data[1] is not an array',
    );
    expect(failure("FP32", [2], [[1], [2]])).toBe(
      'input "t": nested data does not match the shape [2]: data[0] is nested deeper',
    );
    expect(failure("FP32", [3], [1, 2])).toBe(
      'input "t": the shape [3] needs 3 values but data has 2',
    );
    expect(failure("BOOL", [1], [1])).toBe(
      'input "t": data[0] is 1; BOOL data holds true or false',
    );
    expect(failure("BYTES", [1], [1])).toBe('input "t": data[0] is 1; BYTES data holds strings');
    expect(failure("INT64", [1], [2 ** 53])).toBe(
      'input "t": data[0] is 9007199254740992; INT64 data holds integers within ±2^53',
    );
    expect(failure("FP32", [1], 1)).toBe(
      'input "t": data must be an array, flat or nested row-major',
    );
    expect(failure("UINT32", [1], [1])).toMatch(/^input "t": datatype UINT32 is not supported/);
  });
});
