import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGraphBuilder } from "../../../scripts/fixtures/onnx-graph-builder.js";
import { createSeededRandom } from "../../../scripts/fixtures/seeded-random.js";
import {
  restoreStagedLevels,
  stageGraph,
} from "../../../src/generation/decoder-load/staged-graph.js";
import { intAttribute, OnnxGraph } from "../../../src/onnx/onnx-graph.js";
import { quantizeModel } from "../../../src/onnx/quantize/quantize-model.js";

function q4(accuracyLevel: number): Uint8Array {
  const g = createGraphBuilder();
  g.input("a", "float32", [1, 32]);
  g.output("y", "float32", [1, 16]);
  g.initializer("w", createSeededRandom(5).normals(32 * 16, 0.3), [32, 16]);
  g.node("MatMul", ["a", "w"], ["y"]);
  return quantizeModel(g.toBytes(), { method: "int4", accuracyLevel }).bytes;
}

const levelOf = (bytes: Uint8Array) => {
  const node = OnnxGraph.decode(bytes).nodes.find((n) => n.opType === "MatMulNBits");
  return node && intAttribute(node, "accuracy_level");
};

describe("stageGraph, restoreStagedLevels", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "inferd-staged-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("writes the graph at level 0 beside the model, releases the bytes, and restores level 4 on disk", async () => {
    const original = q4(4);
    const bytes = new Uint8Array(original);
    const staged = await stageGraph(join(dir, "model.onnx"), bytes);
    expect(staged?.path).toMatch(/[/\\]\.inferd-staged-\d+-[0-9a-f-]{36}\.onnx$/);
    if (staged === undefined) return;
    expect(bytes.byteLength).toBe(0);
    expect(await readdir(dir)).toEqual([staged.path.slice(dir.length + 1)]);
    expect(levelOf(await readFile(staged.path))).toBe(0);
    await restoreStagedLevels(staged);
    expect(Buffer.compare(await readFile(staged.path), Buffer.from(original))).toBe(0);
    await rm(staged.path);
  });

  it("changes nothing in a graph whose levels do not round activations", async () => {
    const staged = await stageGraph(join(dir, "model.onnx"), new Uint8Array(q4(1)));
    expect(staged?.offsets).toEqual([]);
    if (staged) expect(levelOf(await readFile(staged.path))).toBe(1);
    if (staged) await rm(staged.path);
  });

  it("keeps the bytes as they were when the folder cannot be written", async () => {
    const bytes = new Uint8Array(q4(4));
    const staged = await stageGraph(join(dir, "missing", "model.onnx"), bytes);
    expect(staged).toBeUndefined();
    expect(levelOf(bytes)).toBe(4);
  });
});
