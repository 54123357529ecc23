import { describe, expect, it } from "vitest";
import { isInferdError } from "../../src/errors/inferd-error.js";
import { decodeUtf8, strictUtf8Decoder } from "../../src/text/strict-utf8.js";

const bytes = (...b: number[]) => new Uint8Array(b);
const ascii = (s: string) => [...Buffer.from(s, "latin1")];

function refusal(input: Uint8Array): string {
  try {
    decodeUtf8(input);
  } catch (error) {
    expect(isInferdError(error) && error.kind).toBe("invalid_argument");
    return (error as Error).message;
  }
  throw new Error("expected a refusal");
}

describe("decodeUtf8", () => {
  it("decodes valid UTF-8, dropping a leading byte-order mark", () => {
    expect(decodeUtf8(Buffer.from("iris Θ 🙂", "utf8"))).toBe("iris Θ 🙂");
    expect(decodeUtf8(bytes(0xef, 0xbb, 0xbf, ...ascii("{}")))).toBe("{}");
    expect(decodeUtf8(bytes())).toBe("");
  });

  it("refuses malformed bytes, naming the first one and its offset", () => {
    expect(refusal(bytes(...ascii('"ir'), 0xff, 0xfe, ...ascii('is"')))).toBe(
      "the request body is not valid UTF-8: byte 0xff at offset 3; send text encoded as UTF-8",
    );
    // A literal U+FFFD (EF BF BD) before the bad byte is text, not the error.
    expect(refusal(bytes(0xef, 0xbf, 0xbd, 0x41, 0xc3, 0x28))).toContain("byte 0xc3 at offset 4");
    // A sequence cut at the end, an overlong encoding, a UTF-16 surrogate.
    expect(refusal(bytes(0x41, 0xe2, 0x82))).toContain("byte 0xe2 at offset 1");
    expect(refusal(bytes(0xc0, 0xaf))).toContain("byte 0xc0 at offset 0");
    expect(refusal(bytes(0x41, 0xed, 0xa0, 0x80))).toContain("byte 0xed at offset 1");
  });

  it("serves as connect-es's JSON textDecoder", () => {
    expect(strictUtf8Decoder.decode(Buffer.from("{}"))).toBe("{}");
    expect(() => strictUtf8Decoder.decode(bytes(0xff))).toThrow("not valid UTF-8");
  });
});
