import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { FAVICON_FILE } from "../../src/http/static-ui-route.js";

/** The playground's sources: ui/index.html, ui/favicon.svg, ui/src/main.ts, ui/src/style.css. */
export const UI_DIR: string = resolve(dirname(fileURLToPath(import.meta.url)), "../../ui");

export interface BuildUiOptions {
  /** Defaults to {@link UI_DIR}. */
  uiDir?: string;
  /** Defaults to `<uiDir>/dist`, where the server looks. */
  outDir?: string;
}

export interface BuildUiResult {
  outDir: string;
  /** Every file written, relative to `outDir`. */
  files: string[];
  bytes: number;
}

/**
 * Bundles the playground with esbuild into `outDir`: content-hashed `main-<hash>.js`
 * and `style-<hash>.css` (with source maps), an index.html pointing at them, and
 * favicon.svg as is (the server also answers `/favicon.ico` with it).
 * Idempotent and safe to run concurrently with itself (tests and `npm start` both
 * call it): each file is written to a temporary name and renamed into place,
 * index.html last, then files of older builds are removed.
 */
export async function buildUi(options: BuildUiOptions = {}): Promise<BuildUiResult> {
  const uiDir = options.uiDir ?? UI_DIR;
  const outDir = resolve(options.outDir ?? join(uiDir, "dist"));
  const result = await build({
    entryPoints: { main: join(uiDir, "src/main.ts"), style: join(uiDir, "src/style.css") },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    minify: true,
    sourcemap: "linked",
    entryNames: "[name]-[hash]",
    outdir: outDir,
    write: false,
    logLevel: "silent",
  });
  const written = new Map<string, Uint8Array | string>();
  for (const file of result.outputFiles) written.set(relative(outDir, file.path), file.contents);
  const html = await readFile(join(uiDir, "index.html"), "utf8");
  written.set(FAVICON_FILE, await readFile(join(uiDir, FAVICON_FILE)));
  written.set("index.html", linkAssets(html, [...written.keys()]));
  await mkdir(outDir, { recursive: true });
  for (const [name, contents] of written) await writeAtomically(join(outDir, name), contents);
  await pruneOthers(outDir, new Set(written.keys()));
  const bytes = [...written.values()].reduce((sum, c) => sum + Buffer.byteLength(c), 0);
  return { outDir, files: [...written.keys()].sort(), bytes };
}

/** Points index.html's `./main.js` and `./style.css` at the hashed bundle names. */
function linkAssets(html: string, files: readonly string[]): string {
  let linked = html;
  for (const [plain, pattern] of [
    ["./main.js", /^main-[A-Z0-9]+\.js$/],
    ["./style.css", /^style-[A-Z0-9]+\.css$/],
  ] as const) {
    const hashed = files.find((f) => pattern.test(f));
    if (hashed === undefined || !linked.includes(`"${plain}"`)) {
      throw new Error(
        `build-ui: cannot link ${plain} in index.html to a bundle (${files.join(", ")})`,
      );
    }
    linked = linked.replace(`"${plain}"`, `"./${hashed}"`);
  }
  return linked;
}

async function writeAtomically(path: string, contents: Uint8Array | string): Promise<void> {
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, path);
}

/** Removes what earlier builds left (other hashes); temporary files of a concurrent build stay. */
async function pruneOthers(outDir: string, keep: ReadonlySet<string>): Promise<void> {
  for (const name of await readdir(outDir)) {
    if (keep.has(name) || name.endsWith(".tmp")) continue;
    await rm(join(outDir, basename(name)), { force: true, recursive: true });
  }
}
