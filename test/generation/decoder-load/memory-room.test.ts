import { freemem } from "node:os";
import { describe, expect, it } from "vitest";
import { hasMemoryRoom } from "../../../src/generation/decoder-load/memory-room.js";

describe("hasMemoryRoom", () => {
  it("has room for nothing, and none for more than the machine has available", () => {
    expect(hasMemoryRoom(0)).toBe(true);
    expect(hasMemoryRoom(freemem() + 1)).toBe(false);
    expect(hasMemoryRoom(Number.MAX_SAFE_INTEGER)).toBe(false);
  });
});
