import type { LoadedModel, RunOptions, TensorMap } from "../../src/runtime/model-runtime.js";
import type { HostTensor, TensorSpec } from "../../src/tensor/host-tensor.js";

/** One call of `run`, as the model saw it. */
export interface FakeRun {
  inputs: TensorMap;
  outputNames: readonly string[];
  signal: AbortSignal | undefined;
  options: RunOptions | undefined;
  rows: number;
  /** The x values the run computed on. */
  values: number[];
  startedAt: number;
}

export interface FakeModel extends LoadedModel {
  readonly kind: "predict";
  readonly runs: FakeRun[];
  /** Most runs in flight at once. */
  readonly maxConcurrent: number;
  disposed: boolean;
  /** When set, run() waits for this promise (or the abort) before computing. */
  gate?: Promise<void>;
}

export interface FakeModelOptions {
  latencyMs?: number;
  /** dims[0] of the input spec; -1 makes the model batchable. */
  batchDim?: number;
  /** Row width (trailing dim). */
  width?: number;
  /**
   * Also outputs "scores" float32 [batch, 3] (x's first three columns, so tests choose
   * the label ranking) and "sum" int64 [batch] (the row sum truncated).
   */
  scoresAndSum?: boolean;
}

const spec = (name: string, dtype: HostTensor["dtype"], dims: number[]): TensorSpec => ({
  name,
  dtype,
  dims,
  dimNames: dims.map((_, i) => (i === 0 ? "batch_size" : "")),
});

/**
 * A model y = 2x + 1 over float32 input "x" [batch, width], output "y" of the same
 * shape, answering only the outputs asked for (all when none are). Records every run;
 * waits `latencyMs` and the `gate`; fails with the signal's reason once aborted, and
 * rejects a run whose input holds a NaN (failure injection).
 */
export function createFakeModel(options: FakeModelOptions = {}): FakeModel {
  const width = options.width ?? 1;
  const dims = [options.batchDim ?? -1, width];
  const extras = options.scoresAndSum ? [spec("scores", "float32", [dims[0] ?? -1, 3])] : [];
  if (options.scoresAndSum) extras.push(spec("sum", "int64", [dims[0] ?? -1]));
  let active = 0;
  let maxConcurrent = 0;
  const model: FakeModel = {
    kind: "predict",
    inputs: [spec("x", "float32", dims)],
    outputs: [spec("y", "float32", dims), ...extras],
    runs: [],
    disposed: false,
    get maxConcurrent() {
      return maxConcurrent;
    },
    get pending() {
      return active;
    },
    async run(inputs, outputNames = [], signal, runOptions) {
      const x = inputs.x;
      const values = x === undefined ? [] : Array.from(x.data as Float32Array);
      const rows = x?.dims[0] ?? 0;
      model.runs.push({
        inputs,
        outputNames,
        signal,
        options: runOptions,
        rows,
        values,
        startedAt: Date.now(),
      });
      if (x === undefined) throw new Error("missing input x");
      active++;
      maxConcurrent = Math.max(maxConcurrent, active);
      try {
        await waitFor(model.gate, options.latencyMs ?? 0, signal);
        if (values.some(Number.isNaN)) throw new Error("input x holds NaN");
        const all = compute(x, options.scoresAndSum === true);
        if (outputNames.length === 0) return all;
        return Object.fromEntries(outputNames.map((n) => [n, all[n] as HostTensor]));
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

/** The affine model of the service tests: width 4, with "scores" and "sum". */
export function createAffineModel(): FakeModel {
  return createFakeModel({ width: 4, scoresAndSum: true });
}

/** Waits for `gate` (if any) and `ms`, failing with the signal's reason once it aborts. */
async function waitFor(gate: Promise<void> | undefined, ms: number, signal?: AbortSignal) {
  if (gate !== undefined) {
    await Promise.race([
      gate,
      new Promise((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason))),
    ]);
  }
  await sleep(ms);
  if (signal?.aborted) throw signal.reason;
}

function compute(x: HostTensor, scoresAndSum: boolean): TensorMap {
  const data = x.data as Float32Array;
  const y: HostTensor = { dtype: "float32", dims: [...x.dims], data: data.map((v) => 2 * v + 1) };
  if (!scoresAndSum) return { y };
  const rows = x.dims[0] ?? 0;
  const width = x.dims[1] ?? 1;
  const scores = Float32Array.from(
    { length: rows * 3 },
    (_, i) => data[Math.floor(i / 3) * width + (i % 3)] ?? 0,
  );
  const sum = BigInt64Array.from({ length: rows }, (_, r) =>
    BigInt(Math.trunc(data.subarray(r * width, r * width + width).reduce((a, b) => a + b, 0))),
  );
  return {
    y,
    scores: { dtype: "float32", dims: [rows, 3], data: scores },
    sum: { dtype: "int64", dims: [rows], data: sum },
  };
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
