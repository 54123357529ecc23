import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  APPEND_KV_CACHE_VERSION,
  appendKvCachePath,
  cacheRewrite,
  hasCachedRewrite,
} from "../../../src/generation/kv-rewrite/append-kv-cache.js";

describe("cached append-KV rewrites", () => {
  const temp = mkdtempSync(join(tmpdir(), "inferd-kv-cache-"));
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it("names a hidden file beside the export after the SHA-256 of the version, the edits and the file", async () => {
    const model = join(temp, "model.onnx");
    writeFileSync(model, "abc");
    const expected = createHash("sha256")
      .update(`${APPEND_KV_CACHE_VERSION}\n{}\nabc`)
      .digest("hex")
      .slice(0, 32);
    const path = await appendKvCachePath(model, "{}");
    expect(path).toBe(join(temp, `.inferd-append-kv-${expected}.onnx`));
    expect(await appendKvCachePath(model, '{"matmulNBitsAccuracyLevel":4}')).not.toBe(path);
    writeFileSync(model, "abd");
    expect(await appendKvCachePath(model, "{}")).not.toBe(path);
  });

  it("is absent until cached; caching keeps the bytes and removes the folder's older files", async () => {
    const dir = mkdtempSync(join(temp, "m-"));
    writeFileSync(join(dir, "model.onnx"), "v1");
    writeFileSync(join(dir, ".inferd-append-kv-0123456789abcdef0123456789abcdef.ok"), "");
    const old = await appendKvCachePath(join(dir, "model.onnx"), "{}");
    await cacheRewrite(old, new Uint8Array([1, 2]));
    writeFileSync(join(dir, "model.onnx"), "v2");
    const path = await appendKvCachePath(join(dir, "model.onnx"), "{}");
    expect(await hasCachedRewrite(path)).toBe(false);
    await expect(cacheRewrite(path, new Uint8Array([3, 4, 5]))).resolves.toBe(true);
    expect(await hasCachedRewrite(path)).toBe(true);
    expect([...readFileSync(path)]).toEqual([3, 4, 5]);
    expect(readdirSync(dir).sort()).toEqual([path.slice(dir.length + 1), "model.onnx"].sort());
  });

  it("caches nothing, without failing, in a folder it cannot write", async () => {
    const dir = mkdtempSync(join(temp, "ro-"));
    writeFileSync(join(dir, "model.onnx"), "x");
    chmodSync(dir, 0o500);
    const path = await appendKvCachePath(join(dir, "model.onnx"), "{}");
    const kept = await cacheRewrite(path, new Uint8Array([9]));
    // root ignores the mode bits: only check the outcome is consistent with the folder.
    expect(await hasCachedRewrite(path)).toBe(kept);
    expect(kept).toBe(readdirSync(dir).length === 2);
    chmodSync(dir, 0o700);
  });
});
