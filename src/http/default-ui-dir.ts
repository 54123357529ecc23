import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where `npm run build:ui` puts the playground: `ui/dist` in the package root,
 * found by walking up from this module to the nearest package.json, so that it
 * holds both under `tsx src/...` and from the compiled `dist/src/...`.
 */
export function defaultUiDir(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) return join(dirname(from), "ui", "dist");
    dir = parent;
  }
  return join(dir, "ui", "dist");
}
