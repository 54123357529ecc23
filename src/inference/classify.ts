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
  const classes = tensor.dims[tensor.dims.length - 1] ?? 1;
  if (!FLOAT_DTYPES.has(tensor.dtype) || classes !== labels.length) {
    throw internal(
      `output "${outputName}" (${tensor.dtype} [${tensor.dims.join(", ")}]) cannot be scored against ${labels.length} labels; check labels/label_output in model.json`,
    );
  }
  const take = Math.min(Math.max(k, 1), labels.length);
  const rows = classes === 0 ? 0 : tensor.data.length / classes;
  const result: Classification[] = [];
  for (let r = 0; r < rows; r++) {
    const scored = labels.map((label, index) => ({
      label,
      index,
      score: scoreAt(tensor, r * classes + index),
    }));
    scored.sort((a, b) => b.score - a.score || a.index - b.index);
    result.push({ top: scored.slice(0, take) });
  }
  return result;
}
