import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURE_REPO } from "../helpers/fixtures.js";

interface DenseLayer {
  inFeatures: number;
  outFeatures: number;
  weight: number[];
  bias: number[];
}

interface IrisManifest {
  iris: { labels: string[]; versions: Record<string, { layers: DenseLayer[] }> };
}

const manifest = JSON.parse(
  readFileSync(join(FIXTURE_REPO, "fixtures.json"), "utf8"),
) as IrisManifest;

/** The Iris labels as the fixture generator wrote them into model.json. */
export const IRIS_LABELS: readonly string[] = manifest.iris.labels;

/**
 * Independent float64 forward pass of the fixture Iris model `version` (dense
 * layers from fixtures.json, Relu between, softmax at the end): what the
 * server's probabilities must be, within float32 rounding.
 */
export function irisProbabilities(version: number, x: readonly number[]): number[] {
  const layers = manifest.iris.versions[String(version)]?.layers;
  if (!layers) throw new Error(`fixtures.json has no iris version ${version}`);
  let h = [...x];
  layers.forEach((l, li) => {
    const z = l.bias.map(
      (b, j) => b + h.reduce((acc, v, i) => acc + v * (l.weight[i * l.outFeatures + j] ?? NaN), 0),
    );
    h = li < layers.length - 1 ? z.map((v) => Math.max(0, v)) : z;
  });
  const top = Math.max(...h);
  const e = h.map((v) => Math.exp(v - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Largest absolute difference between two equally long vectors (Infinity if lengths differ). */
export function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? NaN))), 0);
}
