import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { findCycles, folderGraph, readImportGraph, type SourceImport } from "./source-imports.js";

/**
 * Folders of src/ that hold the server's core: they know nothing of the wire
 * (Connect, HTTP, generated protobuf code). Add new core leaf folders here; any
 * folder not listed is treated as non-core.
 */
const CORE_FOLDERS: readonly string[] = [
  "registry",
  "batching",
  "inference",
  "generation",
  "runtime",
  "tensor",
  "errors",
  "onnx",
  "abort",
  "text",
];

/** Imports no core file may make: the transport and the generated code. */
const TRANSPORT_PACKAGES: readonly RegExp[] = [
  /^@connectrpc\//,
  /^(node:)?https?$/,
  /^(node:)?http2$/,
];

/** The one folder that may import the ONNX runtime binding. */
const ORT_FOLDER = "runtime";

const root = fileURLToPath(new URL("../..", import.meta.url));
const graph = readImportGraph(root, "src");

/** "src/registry/x.ts" → "registry"; a top-level file ("src/index.ts") has no folder. */
function folderOf(file: string): string | undefined {
  const parts = file.split("/");
  return parts.length > 2 ? parts[1] : undefined;
}

/** Every import of every src/ file that `broken` flags, as "file:line imports "x"". */
function violations(broken: (file: string, imp: SourceImport) => boolean): string[] {
  const found: string[] = [];
  for (const [file, imports] of graph) {
    for (const imp of imports) {
      if (broken(file, imp)) found.push(`${file}:${imp.line} imports "${imp.specifier}"`);
    }
  }
  return found;
}

describe("import rules of src/", () => {
  it("reads the source tree", () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.has("src/registry/model-registry.ts")).toBe(true);
  });

  it("has no import cycle between files", () => {
    const cycles = findCycles(graph).map((cycle) => `cycle: ${cycle.join(" → ")}`);
    expect(cycles).toEqual([]);
  });

  it("has no import cycle between folders", () => {
    const cycles = findCycles(folderGraph(graph)).map((cycle) => `cycle: ${cycle.join(" → ")}`);
    expect(cycles).toEqual([]);
  });

  it("keeps Connect, node:http*, and gen/ out of the core folders", () => {
    const core = new Set(CORE_FOLDERS);
    const found = violations((file, imp) => {
      const folder = folderOf(file);
      if (folder === undefined || !core.has(folder)) return false;
      if (imp.target?.startsWith("gen/")) return true;
      return TRANSPORT_PACKAGES.some((pattern) => pattern.test(imp.specifier));
    });
    expect(found).toEqual([]);
  });

  it("imports onnxruntime-node only from src/runtime/", () => {
    const found = violations(
      (file, imp) => folderOf(file) !== ORT_FOLDER && /^onnxruntime-node(\/|$)/.test(imp.specifier),
    );
    expect(found).toEqual([]);
  });
});
