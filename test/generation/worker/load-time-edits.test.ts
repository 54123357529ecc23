import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGraphBuilder } from "../../../scripts/fixtures/onnx-graph-builder.js";
import { createSeededRandom } from "../../../scripts/fixtures/seeded-random.js";
import { readModelForLoad } from "../../../src/generation/worker/load-time-edits.js";
import { intAttribute, OnnxGraph } from "../../../src/onnx/onnx-graph.js";
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
