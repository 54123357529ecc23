import { describe, expect, it } from "vitest";
import type { TokenLogprobs } from "../../src/generation/generation-protocol.js";
import { chatLogprobs, completionLogprobs } from "../../src/http/openai/openai-responses.js";

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
});
