import type { LoadedModel, TensorMap } from "../../src/runtime/model-runtime.js";
import type { HostTensor } from "../../src/tensor/host-tensor.js";

export interface FakeRun {
  rows: number;
  /** The x values the run computed on. */
  values: number[];
  startedAt: number;
}

export interface FakeModel extends LoadedModel {
  readonly runs: FakeRun[];
  /** Most runs in flight at once. */
  readonly maxConcurrent: number;
  disposed: boolean;
}

export interface FakeModelOptions {
  latencyMs?: number;
  /** dims[0] of the input spec; -1 makes the model batchable. */
  batchDim?: number;
  /** Row width (trailing dim). */
  width?: number;
}

/**
 * A float32 model y = 2x + 1 over input "x" [batch, width], output "y" of the same
 * shape. Records every run; rejects a run whose input holds a NaN (failure injection).
 */
export function createFakeModel(options: FakeModelOptions = {}): FakeModel {
  const width = options.width ?? 1;
  const dims = [options.batchDim ?? -1, width];
  const runs: FakeRun[] = [];
  let active = 0;
  let maxConcurrent = 0;
  const model: FakeModel = {
    inputs: [{ name: "x", dtype: "float32", dims, dimNames: ["batch", ""] }],
    outputs: [{ name: "y", dtype: "float32", dims, dimNames: ["batch", ""] }],
    runs,
    disposed: false,
    get maxConcurrent() {
      return maxConcurrent;
    },
    get pending() {
      return active;
    },
    async run(inputs: TensorMap): Promise<TensorMap> {
      const x = inputs.x;
      if (x === undefined) throw new Error("missing input x");
      const values = Array.from(x.data as Float32Array);
      runs.push({ rows: x.dims[0] ?? 0, values, startedAt: Date.now() });
      active++;
      maxConcurrent = Math.max(maxConcurrent, active);
      try {
        await new Promise((r) => setTimeout(r, options.latencyMs ?? 0));
        if (values.some(Number.isNaN)) throw new Error("input x holds NaN");
        const y = Float32Array.from(values, (v) => 2 * v + 1);
        return { y: { dtype: "float32", dims: [...x.dims], data: y } };
      } finally {
        active--;
      }
    },
    async dispose() {
      model.disposed = true;
    },
  };
  return model;
}

/** A float32 [rows, 1] tensor holding `values`. */
export function column(...values: number[]): HostTensor {
  return { dtype: "float32", dims: [values.length, 1], data: Float32Array.from(values) };
}

/** The y values of a response, as plain numbers. */
export function yValues(outputs: TensorMap): number[] {
  return Array.from((outputs.y?.data ?? []) as Float32Array);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
