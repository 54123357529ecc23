import { freemem, totalmem } from "node:os";
import { afterEach, describe, expect, it, vi } from "vitest";
import { hasMemoryRoom, memoryLimit } from "../../src/runtime/memory-limit.js";

describe("memoryLimit", () => {
  afterEach(() => vi.restoreAllMocks());

  it.each([
    ["a container's limit below the machine's memory", 2 ** 30, 2 ** 30],
    ["no limit (cgroup v2 reports the largest value)", 2 ** 64, totalmem()],
    ["a limit above the machine's memory", totalmem() * 2, totalmem()],
    ["nothing known", 0, totalmem()],
  ])("is %s", (_, constrained, expected) => {
    vi.spyOn(process, "constrainedMemory").mockReturnValue(constrained);
    expect(memoryLimit()).toBe(expected);
  });
});

describe("hasMemoryRoom", () => {
  afterEach(() => vi.restoreAllMocks());

  it("has room for nothing, and none for more than the machine has available", () => {
    expect(hasMemoryRoom(0)).toBe(true);
    expect(hasMemoryRoom(freemem() + 1)).toBe(false);
    expect(hasMemoryRoom(Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it("has no room beyond the container's limit less what the process holds", () => {
    const held = process.memoryUsage.rss();
    vi.spyOn(process, "constrainedMemory").mockReturnValue(held + 2 ** 20);
    expect(hasMemoryRoom(2 ** 21)).toBe(false);
  });
});
