import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * inferd's own version, from the nearest package.json above this module (so it holds
 * under `tsx src/...` and from the compiled `dist/src/...`): what server metadata
 * reports (the Open Inference Protocol's `GET /v2` and gRPC ServerMetadata). "unknown" when none is found.
 */
export function packageVersion(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        version?: unknown;
      };
      return typeof manifest.version === "string" ? manifest.version : "unknown";
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return "unknown";
      dir = parent;
    }
  }
}
