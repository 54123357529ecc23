import type { MessageInitShape } from "@bufbuild/protobuf";
import { DataType, type TensorSchema } from "../../gen/inferd/v1/tensor_pb.js";
import { IRIS_LABELS, irisProbabilities } from "../examples/iris-reference.js";

/** Rows 1, 51 and 101 of the Iris data set: one setosa, one versicolor, one virginica. */
export const IRIS_SAMPLES: readonly (readonly number[])[] = [
  [5.1, 3.5, 1.4, 0.2],
  [7.0, 3.2, 4.7, 1.4],
  [6.3, 3.3, 6.0, 2.5],
];

/** The `inputs` of an Iris PredictRequest holding `rows` (each 4 measurements). */
export function irisInputs(
  rows: readonly (readonly number[])[],
): Record<string, MessageInitShape<typeof TensorSchema>> {
  return {
    features: { dtype: DataType.FLOAT32, shape: [rows.length, 4], floatData: rows.flat() },
  };
}

/** Independent expectation for `rows` on iris `version`: probabilities flattened, argmax per row. */
export function irisExpected(
  version: number,
  rows: readonly (readonly number[])[],
): { probabilities: number[]; labels: number[]; names: string[] } {
  const perRow = rows.map((row) => irisProbabilities(version, row));
  const labels = perRow.map((p) => p.indexOf(Math.max(...p)));
  return {
    probabilities: perRow.flat(),
    labels,
    names: labels.map((i) => IRIS_LABELS[i] ?? `#${i}`),
  };
}

/**
 * `n` Iris-like rows numbered from `first`: row k is a sample shifted by 0.003·k·(j+1)
 * on feature j, so rows with different numbers never repeat.
 */
export function distinctIrisRows(n: number, first: number): number[][] {
  return Array.from({ length: n }, (_, i) => {
    const k = first + i;
    const base = IRIS_SAMPLES[k % IRIS_SAMPLES.length] ?? [5, 3, 4, 1];
    return base.map((v, j) => Math.round((v + 0.003 * k * (j + 1)) * 1e4) / 1e4);
  });
}

/** Largest absolute difference (Infinity when lengths differ). */
export { maxAbsDiff } from "../examples/iris-reference.js";
