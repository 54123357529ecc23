import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { packageVersion } from "../../src/config/package-version.js";

describe("packageVersion", () => {
  it("reads the nearest package.json above the module, or says unknown", () => {
    const manifest = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    expect(packageVersion()).toBe(manifest.version);
    expect(packageVersion("/no-such-dir/x.js")).toBe("unknown");
  });
});
