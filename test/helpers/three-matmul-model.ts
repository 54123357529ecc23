import { createGraphBuilder } from "../../scripts/fixtures/onnx-graph-builder.js";
import { createSeededRandom } from "../../scripts/fixtures/seeded-random.js";

/**
 * A float32 model of three MatMuls (32 → 32 → 32 → 8), the first two sharing one
 * weight as a tied head would: what the MatMulNBits tests quantize and edit.
 */
export function threeMatMulModel(): Uint8Array {
  const random = createSeededRandom(3);
  const g = createGraphBuilder();
  g.input("a", "float32", ["m", 32]);
  g.output("y", "float32", ["m", 8]);
  g.initializer("w", random.normals(32 * 32, 0.2), [32, 32]);
  g.initializer("v", random.normals(32 * 8, 0.2), [32, 8]);
  g.node("MatMul", ["a", "w"], ["h"]);
  g.node("MatMul", ["h", "w"], ["h2"]);
  g.node("MatMul", ["h2", "v"], ["y"]);
  return g.toBytes();
}
