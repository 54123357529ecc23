import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { createGraphBuilder } from "../../../scripts/fixtures/onnx-graph-builder.js";
import { createSeededRandom } from "../../../scripts/fixtures/seeded-random.js";
import {
  dequantizeInt4Blocks,
  quantizeInt4Blocks,
} from "../../../src/onnx/quantize/int4-blocks.js";
import { quantizeModel } from "../../../src/onnx/quantize/quantize-model.js";
import { maxAbsDiff } from "../../fixtures/ort-helpers.js";

/** One MatMul `y = a W` with W [k, n] as a float initializer. */
function matMulModel(weights: Float32Array, k: number, n: number): Uint8Array {
  const g = createGraphBuilder();
  g.input("a", "float32", ["m", k]);
  g.output("y", "float32", ["m", n]);
  g.initializer("w", weights, [k, n]);
  g.node("MatMul", ["a", "w"], ["y"]);
  return g.toBytes();
}

/** `a` [m, k] times `w` [k, n] in double precision. */
function reference(a: Float32Array, w: Float32Array, m: number, k: number, n: number) {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let r = 0; r < k; r++) sum += (a[i * k + r] ?? 0) * (w[r * n + j] ?? 0);
      out[i * n + j] = sum;
    }
  }
  return out;
}

async function runQuantized(model: Uint8Array, a: Float32Array, m: number, k: number) {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  try {
    const out = await session.run({ a: new ort.Tensor("float32", a, [m, k]) });
    return out.y?.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe("int4 block quantization (MatMulNBits layout)", () => {
  // K = 72 is not a multiple of 32: the last block is padded, as real FFN sizes may be.
  for (const [k, n, blockSize] of [
    [72, 24, 32],
    [64, 8, 16],
    [256, 12, 128],
  ] as const) {
    it(`matches onnxruntime's MatMulNBits (K ${k}, N ${n}, block ${blockSize}, accuracy_level 0)`, async () => {
      const random = createSeededRandom(k * 1000 + n);
      const w = random.normals(k * n, 0.5);
      const m = 5;
      const a = random.normals(m * k, 1);
      const q = quantizeInt4Blocks(w, k, n, blockSize);
      const model = quantizeModel(matMulModel(w, k, n), {
        method: "int4",
        blockSize,
        accuracyLevel: 0,
      });
      expect(model.changed).toBe(1);
      const got = await runQuantized(model.bytes, a, m, k);
      const want = reference(a, dequantizeInt4Blocks(q), m, k, n);
      // Float rounding of a K-term sum only: the packing is bit-exact or this fails by ~0.1.
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
    });
  }

  it("keeps 0 exact and never does worse than min/max rounding (onnxruntime's quantizer)", () => {
    const random = createSeededRandom(7);
    const [k, n, block] = [64, 4, 32];
    const w = random.normals(k * n, 1);
    w[0] = 0;
    w[5 * n + 1] = 6; // an outlier: shrinking the range helps the other 31 values
    const back = dequantizeInt4Blocks(quantizeInt4Blocks(w, k, n, block));
    expect(back[0]).toBe(0);
    let [ours, minMax] = [0, 0];
    for (let col = 0; col < n; col++) {
      for (let start = 0; start < k; start += block) {
        const values = Array.from({ length: block }, (_, j) => w[(start + j) * n + col] ?? 0);
        const [lo, hi] = [Math.min(0, ...values), Math.max(0, ...values)];
        const scale = (hi - lo) / 15;
        const zp = Math.round(-lo / scale);
        for (const [j, v] of values.entries()) {
          const q = Math.min(15, Math.max(0, Math.round(v / scale) + zp));
          minMax += ((q - zp) * scale - v) ** 2;
          ours += ((back[(start + j) * n + col] ?? 0) - v) ** 2;
        }
      }
    }
    expect(ours).toBeLessThan(minMax);
  });

  it("with accuracy_level 4 (int8 activations) stays close to the float product", async () => {
    const random = createSeededRandom(11);
    const [m, k, n] = [3, 128, 16];
    const w = random.normals(k * n, 0.5);
    const a = random.normals(m * k, 1);
    const model = quantizeModel(matMulModel(w, k, n), { method: "int4", accuracyLevel: 4 });
    const got = await runQuantized(model.bytes, a, m, k);
    const want = reference(a, dequantizeInt4Blocks(quantizeInt4Blocks(w, k, n, 32)), m, k, n);
    // Activations quantized to int8 per block: ~1% of the output's scale (|y| ~ 5.6 here).
    expect(maxAbsDiff(got, want)).toBeLessThan(0.1);
  });
});
