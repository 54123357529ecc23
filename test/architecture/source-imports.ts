import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

/** One import (or re-export, or dynamic import) as written in a source file. */
export interface SourceImport {
  /** The specifier as written, e.g. "../errors/inferd-error.js" or "@connectrpc/connect". */
  readonly specifier: string;
  /** 1-based line of the specifier, for failure messages. */
  readonly line: number;
  /** For a relative specifier: the target's path from the repository root ("src/x/y.ts"). */
  readonly target?: string;
}

/** Every .ts file under `dir` (repository-relative, "/"-separated) with its imports. */
export type ImportGraph = ReadonlyMap<string, readonly SourceImport[]>;

/**
 * Reads the imports of every .ts file under `dir` with TypeScript's own
 * `ts.preProcessFile`: the scanner the compiler uses to find a file's dependencies,
 * so `import type`, `export … from` and `import()` all count, and no module
 * resolution or type checking is needed.
 */
export function readImportGraph(root: string, dir: string): ImportGraph {
  const graph = new Map<string, SourceImport[]>();
  for (const file of tsFilesUnder(join(root, dir))) {
    const text = readFileSync(file, "utf8");
    const info = ts.preProcessFile(text, true, true);
    const imports = info.importedFiles.map((ref): SourceImport => {
      const line = text.slice(0, ref.pos).split("\n").length;
      if (!ref.fileName.startsWith(".")) return { specifier: ref.fileName, line };
      const target = posix(relative(root, resolveSource(dirname(file), ref.fileName)));
      return { specifier: ref.fileName, line, target };
    });
    graph.set(posix(relative(root, file)), imports);
  }
  return graph;
}

/**
 * Every import cycle among the graph's files, each as the list of files around it
 * (first file repeated at the end). One cycle per back edge of a depth-first walk:
 * not every cycle of a tangle, but none is missed while any remains.
 */
export function findCycles(graph: ImportGraph): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    stack.push(file);
    for (const { target } of graph.get(file) ?? []) {
      if (target === undefined || !graph.has(target) || done.has(target)) continue;
      const at = stack.indexOf(target);
      if (at >= 0) cycles.push([...stack.slice(at), target]);
      else visit(target);
    }
    stack.pop();
    done.add(file);
  };
  for (const file of [...graph.keys()].sort()) if (!done.has(file)) visit(file);
  return cycles;
}

/**
 * The same graph one level up: each folder ("src/generation/engine") with the other
 * folders its files import, each import kept once. Its cycles are loops between
 * folders (a → b → a) even where no two files import each other.
 */
export function folderGraph(graph: ImportGraph): ImportGraph {
  const folders = new Map<string, Map<string, SourceImport>>();
  for (const [file, imports] of graph) {
    const from = dirname(file);
    const edges = folders.get(from) ?? new Map<string, SourceImport>();
    folders.set(from, edges);
    for (const imp of imports) {
      if (imp.target === undefined || !graph.has(imp.target)) continue;
      const to = dirname(imp.target);
      if (to !== from && !edges.has(to)) edges.set(to, { ...imp, target: to });
    }
  }
  return new Map([...folders].map(([folder, edges]) => [folder, [...edges.values()]]));
}

/** "./x.js" names the source "./x.ts" (ESM with `.js` suffixes); other files as written. */
function resolveSource(fromDir: string, specifier: string): string {
  const path = resolve(fromDir, specifier);
  const source = path.replace(/\.js$/, ".ts");
  return existsSync(source) ? source : path;
}

function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

function posix(path: string): string {
  return path.split(sep).join("/");
}
