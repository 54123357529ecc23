import { fromFloat16Bits } from "../tensor/float16.js";
import type { HostTensor } from "../tensor/host-tensor.js";

function valueAt(tensor: HostTensor, i: number): number {
  const v = tensor.data[i];
  if (tensor.dtype === "float16") return fromFloat16Bits(v as number);
  return Number(v);
}

/** A float32 value as its shortest decimal that reads back the same float32 ("3.3", not "3.299999952316284"). */
function formatScore(value: number, dtype: HostTensor["dtype"]): string {
  if (dtype !== "float32" && dtype !== "float16") return String(value);
  for (let digits = 1; digits < 10; digits++) {
    const text = value.toPrecision(digits);
    if (Math.fround(Number(text)) === Math.fround(value)) return String(Number(text));
  }
  return String(value);
}

/**
 * Triton's classification extension for one output: per row (the last dimension is
 * the class axis) the `count` highest values, best first, ties to the lower index,
 * each as "value:index" or "value:index:label" when `labels` names the class. The
 * result is a string (BYTES) tensor of shape [...leading dims, count]; `count` is
 * capped at the number of classes.
 */
export function classifyOutput(
  tensor: HostTensor,
  count: number,
  labels: readonly string[],
): HostTensor {
  if (tensor.dtype === "string") return tensor;
  const classes = tensor.dims[tensor.dims.length - 1] ?? 1;
  const take = Math.min(count, classes);
  const rows = classes === 0 ? 0 : tensor.data.length / classes;
  const data: string[] = [];
  const order = Array.from({ length: classes }, (_, i) => i);
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    const ranked = [...order].sort(
      (a, b) => valueAt(tensor, base + b) - valueAt(tensor, base + a) || a - b,
    );
    for (const index of ranked.slice(0, take)) {
      const score = formatScore(valueAt(tensor, base + index), tensor.dtype);
      const label = labels[index];
      data.push(label ? `${score}:${index}:${label}` : `${score}:${index}`);
    }
  }
  const leading = tensor.dims.length > 1 ? tensor.dims.slice(0, -1) : [];
  return { dtype: "string", dims: [...leading, take], data };
}
