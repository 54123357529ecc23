import { internal } from "../errors/inferd-error.js";
import { fromFloat16Bits } from "../tensor/float16.js";
import type { HostTensor, TensorSpec } from "../tensor/host-tensor.js";

/** One class and its score. */
export interface LabelScore {
  readonly label: string;
  readonly score: number;
  readonly index: number;
}

/** The top classes of one row, best first. */
export interface Classification {
  readonly top: readonly LabelScore[];
}

const FLOAT_DTYPES = new Set(["float32", "float16", "float64"]);

/**
 * The output the labels score: `labelOutput` when configured, else the first float
 * output whose last dimension equals the number of labels. Undefined when none fits.
 */
export function findLabelOutput(
  outputs: readonly TensorSpec[],
  labelCount: number,
  labelOutput?: string,
): string | undefined {
  if (labelOutput !== undefined)
    return outputs.some((o) => o.name === labelOutput) ? labelOutput : undefined;
  return outputs.find((o) => FLOAT_DTYPES.has(o.dtype) && o.dims[o.dims.length - 1] === labelCount)
    ?.name;
}

function scoreAt(tensor: HostTensor, i: number): number {
  const value = tensor.data[i];
  if (tensor.dtype === "float16") return fromFloat16Bits(value as number);
  return Number(value);
}

/** What {@link topKLabels} scores: an output, the model's labels, how many per row. */
export interface LabelScoring {
  readonly scores: HostTensor;
  readonly labels: readonly string[];
  readonly k: number;
  readonly outputName: string;
}

/**
 * Throws what {@link topKLabels} throws for a tensor it cannot score against `labels`
 * (internal: the model's configuration is wrong), without scoring: a caller that
 * scores later (an answer built off the event loop) fails the call now instead.
 */
export function assertScorable(
  tensor: HostTensor,
  labels: readonly string[],
  outputName = "scores",
): void {
  const classes = tensor.dims[tensor.dims.length - 1] ?? 1;
  if (!FLOAT_DTYPES.has(tensor.dtype) || classes !== labels.length) {
    throw internal(
      `output "${outputName}" (${tensor.dtype} [${tensor.dims.join(", ")}]) cannot be scored against ${labels.length} labels; check labels/label_output in model.json`,
    );
  }
}

/**
 * Top-k labels per row of a scores tensor whose last dimension is the class axis.
 * Ties keep the lower class index first. `k` is capped at the number of labels.
 */
export function topKLabels(
  tensor: HostTensor,
  labels: readonly string[],
  k: number,
  outputName = "scores",
): Classification[] {
  assertScorable(tensor, labels, outputName);
  const classes = tensor.dims[tensor.dims.length - 1] ?? 1;
  const take = Math.min(Math.max(k, 1), labels.length);
  const rows = classes === 0 ? 0 : tensor.data.length / classes;
  const result: Classification[] = new Array(rows);
  // Per row, an insertion pass keeps the best `take` class indices: no object per class
  // and no sort, since a large request can have hundreds of thousands of rows.
  const best = new Int32Array(take);
  const bestScore = new Float64Array(take);
  for (let r = 0; r < rows; r++) {
    let kept = 0;
    for (let index = 0; index < classes; index++) {
      const score = scoreAt(tensor, r * classes + index);
      // Ties keep the lower index first: a later class must be strictly better.
      let at = kept;
      while (at > 0 && score > (bestScore[at - 1] ?? 0)) at--;
      if (at >= take) continue;
      for (let j = Math.min(kept, take - 1); j > at; j--) {
        best[j] = best[j - 1] ?? 0;
        bestScore[j] = bestScore[j - 1] ?? 0;
      }
      best[at] = index;
      bestScore[at] = score;
      if (kept < take) kept++;
    }
    const top: LabelScore[] = new Array(kept);
    for (let j = 0; j < kept; j++) {
      const index = best[j] ?? 0;
      top[j] = { label: labels[index] ?? "", score: bestScore[j] ?? 0, index };
    }
    result[r] = { top };
  }
  return result;
}
