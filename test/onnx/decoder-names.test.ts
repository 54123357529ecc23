import { describe, expect, it } from "vitest";
import { isKvCacheName, pastName, presentName } from "../../src/onnx/decoder-names.js";

describe("isKvCacheName", () => {
  it("is true for past key/value feeds and present key/value outputs of any layer", () => {
    for (const name of [pastName(0, "key"), pastName(11, "value"), presentName(3, "key")]) {
      expect(isKvCacheName(name)).toBe(true);
    }
  });

  it("is false for every other name, near misses included", () => {
    for (const name of [
      "input_ids",
      "attention_mask",
      "logits",
      "past_key_values",
      "past_key_values.x.key",
      "present.0.query",
      "present.0.key.extra",
      "my.present.0.key",
    ]) {
      expect(isKvCacheName(name)).toBe(false);
    }
  });
});
