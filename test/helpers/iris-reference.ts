import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { DataType, type TensorSchema } from "../../gen/inferd/v1/tensor_pb.js";
import { FIXTURE_REPO } from "./fixtures.js";

interface DenseLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Row-major [inFeatures, outFeatures]. */
  readonly weight: readonly number[];
  readonly bias: readonly number[];
}

interface IrisManifest {
  readonly iris: {
    readonly labels: readonly string[];
    readonly versions: Record<string, { readonly layers: readonly DenseLayer[] }>;
  };
}

const manifest = JSON.parse(
  readFileSync(join(FIXTURE_REPO, "fixtures.json"), "utf8"),
) as IrisManifest;

/** The Iris class names, in output order. */
export const IRIS_LABELS: readonly string[] = manifest.iris.labels;

/**
 * Independent forward pass of fixture Iris `version` for one row, from the weights
 * in `<FIXTURE_REPO>/fixtures.json`: dense layers with Relu between, softmax last.
 * Inputs and weights are first rounded to float32, as the model stores and receives
 * them; the arithmetic is float64, so only the server's float32 accumulation differs.
 */
export function irisProbabilities(version: number, row: readonly number[]): number[] {
  const layers = manifest.iris.versions[String(version)]?.layers;
  if (!layers) throw new Error(`fixtures.json has no iris version ${version}`);
  let h = row.map(Math.fround);
  layers.forEach((layer, li) => {
    const z = layer.bias.map((b, j) => {
      let acc = Math.fround(b);
      h.forEach((v, i) => {
        acc += v * Math.fround(layer.weight[i * layer.outFeatures + j] ?? Number.NaN);
      });
      return acc;
    });
    h = li < layers.length - 1 ? z.map((v) => Math.max(0, v)) : z;
  });
  const top = Math.max(...h);
  const e = h.map((v) => Math.exp(v - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

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

/** What iris `version` must answer for `rows`: probabilities flattened, argmax and its name per row. */
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
 * `n` distinct Iris-like rows numbered from `first` (up to 3,000 distinct): row k is
 * sample k mod 3 moved on a grid of ±0.25 cm (sepals) and ±0.1 cm (petals) by the
 * digits of k / 3, so rows stay near real flowers and no two are equal.
 */
export function distinctIrisRows(n: number, first: number): number[][] {
  return Array.from({ length: n }, (_, i) => {
    const k = first + i;
    const base = IRIS_SAMPLES[k % IRIS_SAMPLES.length] ?? [5, 3, 4, 1];
    const digit = (place: number) => (Math.floor(k / 3 / 10 ** place) % 10) - 5;
    const step = [0.05, 0.05, 0.02, 0.02];
    return base.map((v, j) => Math.round((v + (step[j] ?? 0) * digit(j % 3)) * 100) / 100);
  });
}

/** Largest absolute difference between two vectors (Infinity when lengths differ). */
export function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? Number.NaN))), 0);
}
