import { describe, expect, it } from "vitest";
import type { TokenLogprobs } from "../../../src/generation/engine/generation-protocol.js";
import {
  chatLogprobs,
  completionLogprobs,
  TextOffsets,
} from "../../../src/http/openai/openai-responses.js";

/** Chosen pieces with made-up logprobs and no alternatives. */
const lps = (pieces: string[]): TokenLogprobs[] =>
  pieces.map((token, i) => ({ chosen: { tokenId: i, token, logprob: -i }, top: [] }));

// "▁Once", then "\r" as a byte piece, then "—" (U+2014, E2 80 94) over three byte pieces.
const PIECES = ["▁Once", "<0x0D>", "<0xE2>", "<0x80>", "<0x94>"];

describe("OpenAI logprobs", () => {
  it("chat: bytes are what each token stands for, a byte-fallback piece its one byte", () => {
    const { content } = chatLogprobs(lps(PIECES), 0);
    expect(content.map((c) => c.bytes)).toEqual([
      [32, 79, 110, 99, 101],
      [13],
      [0xe2],
      [0x80],
      [0x94],
    ]);
    expect(content.map((c) => c.token)).toEqual([" Once", "\r", "<0xE2>", "<0x80>", "<0x94>"]);
    // Joined, the bytes are the text.
    expect(Buffer.from(content.flatMap((c) => c.bytes)).toString("utf8")).toBe(" Once\r—");
  });

  it("completions: token texts join up for ASCII bytes, with each token's text offset", () => {
    const result = completionLogprobs(lps(PIECES.slice(0, 2)), 0);
    expect(result.tokens).toEqual([" Once", "\r"]);
    expect(result.tokens.join("")).toBe(" Once\r");
    expect(result.text_offset).toEqual([0, 5]);
    expect(result.token_logprobs).toEqual([-0, -1]);
  });

  it("completions: offsets count characters; a multi-byte character's bytes share its offset", () => {
    // " Once\r—▁he😀": "—" is E2 80 94, "😀" (one character, two UTF-16 units) F0 9F 98 80.
    const pieces = [...PIECES, "▁he", "<0xF0>", "<0x9F>", "<0x98>", "<0x80>", "!"];
    const text = " Once\r— he😀!";
    const { text_offset } = completionLogprobs(lps(pieces), 0);
    const chars = [...text];
    expect(text_offset).toEqual([0, 5, 6, 6, 6, 7, 10, 10, 10, 10, 11]);
    expect(chars.slice(text_offset[5], text_offset[6]).join("")).toBe(" he");
    expect(chars[text_offset[10] ?? 0]).toBe("!");
    expect(chars[text_offset[2] ?? 0]).toBe("—");
    // A stream continues the offsets across its chunks, a character split between them too.
    const offsets = new TextOffsets();
    const chunks = [
      ["▁Once", "<0xE2>"],
      ["<0x80>", "<0x94>", "!"],
    ];
    const streamed = chunks.flatMap((c) => completionLogprobs(lps(c), 0, offsets).text_offset);
    expect(streamed).toEqual([0, 5, 5, 5, 6]);
  });
});
