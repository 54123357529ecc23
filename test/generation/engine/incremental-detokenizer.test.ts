import { existsSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { IncrementalDetokenizer } from "../../../src/generation/engine/incremental-detokenizer.js";
import {
  loadTextTokenizer,
  type TextTokenizer,
} from "../../../src/generation/request/tokenizer.js";

const MODEL_DIR = join(import.meta.dirname, "../../../../shared/models/stories260k/1");
const byteToken = (b: number) => 3 + b; // tok512: <0x00> is id 3

describe.skipIf(!existsSync(MODEL_DIR))(
  "IncrementalDetokenizer with tok512 (needs ../shared/models/stories260k)",
  () => {
    let tokenizer: TextTokenizer;
    const detokenizer = (prompt: number[]) =>
      new IncrementalDetokenizer((ids) => tokenizer.decode(ids, true), prompt);
    beforeAll(async () => {
      tokenizer = await loadTextTokenizer(MODEL_DIR);
    });

    it("holds back a character split over byte-fallback tokens until it is complete", () => {
      const d = detokenizer([1]);
      const deltas = [
        byteToken(0xc3),
        byteToken(0xa9),
        byteToken(0xe6),
        byteToken(0x97),
        byteToken(0xa5),
      ].map((id) => d.push(id));
      expect(deltas).toEqual(["", "é", "", "", "日"]);
      for (const delta of deltas) expect(delta).not.toContain("\uFFFD");
    });

    it("keeps the leading space of the first generated piece after a prompt", () => {
      const prompt = tokenizer.encode("The little dog", true);
      const generated = tokenizer.encode(" was a little girl", false).slice(1); // drop the dummy "▁" prefix piece
      const d = detokenizer(prompt);
      const text = generated.map((id) => d.push(id)).join("");
      expect(text).toBe(
        tokenizer.decode([...prompt, ...generated], true).slice("The little dog".length),
      );
      expect(text.startsWith(" was")).toBe(true);
    });

    it("strips the leading space after a bare BOS, as run.c prints it", () => {
      const d = detokenizer([1]);
      const ids = tokenizer.encode("Once upon", false); // ["▁Once", "▁upon"]
      expect(ids.map((id) => d.push(id)).join("")).toBe("Once upon");
    });

    it("flushes an incomplete character at the end", () => {
      const d = detokenizer([1]);
      expect(d.push(byteToken(0xc3))).toBe("");
      expect(d.flush()).toBe("\uFFFD");
    });

    it("encodes with and without BOS", () => {
      expect(tokenizer.encode("", true)).toEqual([1]);
      expect(tokenizer.encode("Once upon a time", true)).toEqual([1, 403, 407, 261, 378]);
      expect(tokenizer.encode("Once upon a time", false)).toEqual([403, 407, 261, 378]);
      expect(tokenizer.decode([1, 403], false)).toBe("<s> Once");
      expect(tokenizer.decode([1, 403], true)).toBe("Once");
    });
  },
);
