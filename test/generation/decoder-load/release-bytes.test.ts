import { markAsUntransferable } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { releaseBytes } from "../../../src/generation/decoder-load/release-bytes.js";

describe("releaseBytes", () => {
  it("frees a buffer it covers whole at once: every view of it reads empty", async () => {
    const bytes = new Uint8Array(64 << 20).fill(7);
    const view = bytes.subarray(10, 20);
    const before = process.memoryUsage().arrayBuffers;
    await releaseBytes(bytes);
    expect(bytes.byteLength).toBe(0);
    expect(view.byteLength).toBe(0);
    // No collection ran: the 64 MiB left the process's ArrayBuffer total all the same.
    expect(before - process.memoryUsage().arrayBuffers).toBeGreaterThanOrEqual(64 << 20);
  });

  it("leaves a view that shares its buffer (a pool slice) untouched", async () => {
    const whole = new Uint8Array(1024).fill(3);
    const part = whole.subarray(0, 512);
    await releaseBytes(part);
    expect(part.byteLength).toBe(512);
    expect(whole[1000]).toBe(3);
  });

  it("leaves a buffer Node will not transfer as it is, and resolves", async () => {
    const buffer = new ArrayBuffer(1024);
    markAsUntransferable(buffer);
    const bytes = new Uint8Array(buffer).fill(5);
    await releaseBytes(bytes);
    expect(bytes.byteLength).toBe(1024);
    expect(bytes[1023]).toBe(5);
  });
});
