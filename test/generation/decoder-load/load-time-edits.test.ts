import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGraphBuilder } from "../../../scripts/fixtures/onnx-graph-builder.js";
import { createSeededRandom } from "../../../scripts/fixtures/seeded-random.js";
import {
  readModelForLoad,
  withExactMatMulNBits,
} from "../../../src/generation/decoder-load/load-time-edits.js";
import { intAttribute, OnnxGraph, setIntAttribute } from "../../../src/onnx/onnx-graph.js";
import { quantizeModel } from "../../../src/onnx/quantize/quantize-model.js";

function matMul(): Uint8Array {
  const g = createGraphBuilder();
  g.input("a", "float32", [1, 32]);
  g.output("y", "float32", [1, 16]);
  g.initializer("w", createSeededRandom(5).normals(32 * 16, 0.3), [32, 16]);
  g.node("MatMul", ["a", "w"], ["y"]);
  return g.toBytes();
}

describe("readModelForLoad", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "inferd-load-edits-"));
    await writeFile(join(dir, "fp32.onnx"), matMul());
    const q4 = quantizeModel(matMul(), { method: "int4", accuracyLevel: 0 }).bytes;
    await writeFile(join(dir, "q4.onnx"), q4);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("sets model.json's accuracy_level on MatMulNBits, editing only when it differs", async () => {
    const edited = await readModelForLoad(join(dir, "q4.onnx"), { matmulNBitsAccuracyLevel: 4 });
    expect(edited.edited).toBe(true);
    const node = OnnxGraph.decode(edited.bytes).nodes.find((n) => n.opType === "MatMulNBits");
    expect(node && intAttribute(node, "accuracy_level")).toBe(4);
    // Set in place: the bytes differ from the file's at the level's one byte alone.
    const file = quantizeModel(matMul(), { method: "int4", accuracyLevel: 0 }).bytes;
    expect(edited.bytes.length).toBe(file.length);
    expect([...file.keys()].filter((i) => file[i] !== edited.bytes[i])).toHaveLength(1);
    const same = await readModelForLoad(join(dir, "q4.onnx"), { matmulNBitsAccuracyLevel: 0 });
    expect(same.edited).toBe(false);
    const absent = await readModelForLoad(join(dir, "q4.onnx"), {});
    expect(absent.edited).toBe(false);
  });

  it("returns a model without MatMulNBits as it was read", async () => {
    const read = await readModelForLoad(join(dir, "fp32.onnx"), { matmulNBitsAccuracyLevel: 4 });
    expect(read.edited).toBe(false);
    expect(Buffer.compare(Buffer.from(read.bytes), Buffer.from(matMul()))).toBe(0);
  });
});

describe("withExactMatMulNBits", () => {
  it("runs its callback with rounding levels at 0, in the same buffer, and puts them back", async () => {
    const graph = OnnxGraph.decode(quantizeModel(matMul(), { method: "int4" }).bytes);
    const node = graph.nodes.find((n) => n.opType === "MatMulNBits");
    if (node) setIntAttribute(node, "accuracy_level", 4);
    const bytes = graph.finish();
    const before = new Uint8Array(bytes);
    const seen = await withExactMatMulNBits(bytes, async (exact) => [exact, levelOf(bytes)]);
    expect(seen).toEqual([true, 0]);
    expect(Buffer.compare(Buffer.from(bytes), Buffer.from(before))).toBe(0);
    // Level 1 (float32) does not round: nothing to change.
    if (node) setIntAttribute(node, "accuracy_level", 1);
    const exactAlready = graph.finish();
    await expect(withExactMatMulNBits(exactAlready, async (exact) => exact)).resolves.toBe(false);
  });

  it("puts the levels back when the callback throws", async () => {
    const bytes = quantizeModel(matMul(), { method: "int4", accuracyLevel: 4 }).bytes;
    const failing = withExactMatMulNBits(bytes, async () => {
      throw new Error("create failed");
    });
    await expect(failing).rejects.toThrow("create failed");
    expect(levelOf(bytes)).toBe(4);
  });
});

function levelOf(bytes: Uint8Array): number | undefined {
  const node = OnnxGraph.decode(bytes).nodes.find((n) => n.opType === "MatMulNBits");
  return node && intAttribute(node, "accuracy_level");
}
