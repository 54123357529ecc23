import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * inferd's version, from the nearest package.json above this module (so that it
 * holds under `tsx src/...` and from the compiled `dist/src/...`, as the UI
 * directory is found); "unknown" when there is none. Read once, at startup.
 */
export function serverVersion(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) return "unknown";
    dir = parent;
  }
  const json: unknown = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const version = (json as { version?: unknown }).version;
  return typeof version === "string" ? version : "unknown";
}
