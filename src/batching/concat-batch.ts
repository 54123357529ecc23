import { invalidArgument } from "../errors/inferd-error.js";
import { elementCount, type HostTensor, type TensorData } from "../tensor/host-tensor.js";

type NumericData = Exclude<TensorData, string[]>;

/** What every typed array in {@link TensorData} can do; lets one code path copy all dtypes. */
interface CopyTarget {
  set(array: ArrayLike<unknown>, offset?: number): void;
}

/**
 * Concatenates tensors along dim 0 (the batch dimension) into one new tensor with
 * fresh buffers, so the parts stay usable. All parts must share dtype and trailing
 * dims; works for every dtype (int64 as BigInt64Array, float16 as raw bits, strings).
 * @throws InferdError invalid_argument on an empty list, a scalar, mismatched
 *   dtype/trailing dims, or data whose length disagrees with its dims.
 */
export function concatBatch(tensors: readonly HostTensor[]): HostTensor {
  const first = tensors[0];
  if (first === undefined) throw invalidArgument("concatBatch needs at least one tensor");
  const trailing = trailingDims(first);
  let rows = 0;
  for (const t of tensors) {
    checkShape(t);
    if (t.dtype !== first.dtype || !sameDims(trailingDims(t), trailing)) {
      throw invalidArgument(
        `cannot batch a ${t.dtype}[${t.dims.join(",")}] tensor with a ${first.dtype}[${first.dims.join(",")}] one: dtype and all dims but the first must match`,
      );
    }
    rows += t.dims[0] ?? 0;
  }
  const dims = [rows, ...trailing];
  if (first.dtype === "string") {
    return { dtype: first.dtype, dims, data: tensors.flatMap((t) => t.data as string[]) };
  }
  const Ctor = first.data.constructor as new (length: number) => NumericData;
  const out = new Ctor(elementCount(dims));
  const target: CopyTarget = out;
  let offset = 0;
  for (const t of tensors) {
    target.set(t.data as NumericData, offset);
    offset += t.data.length;
  }
  return { dtype: first.dtype, dims, data: out };
}

/**
 * Splits a tensor along dim 0 into consecutive parts of `rowCounts` rows each. Every
 * part gets its own copied buffer, so parts can be transferred independently.
 * @throws InferdError invalid_argument when the row counts do not sum to dims[0].
 */
export function splitBatch(tensor: HostTensor, rowCounts: readonly number[]): HostTensor[] {
  checkShape(tensor);
  const total = rowCounts.reduce((sum, n) => sum + n, 0);
  if (total !== tensor.dims[0]) {
    throw invalidArgument(
      `cannot split a tensor with ${tensor.dims[0]} rows into parts of ${rowCounts.join("+")} = ${total} rows`,
    );
  }
  const trailing = trailingDims(tensor);
  const rowSize = elementCount(trailing);
  const parts: HostTensor[] = [];
  let start = 0;
  for (const rows of rowCounts) {
    const end = start + rows * rowSize;
    parts.push({
      dtype: tensor.dtype,
      dims: [rows, ...trailing],
      data: tensor.data.slice(start, end),
    });
    start = end;
  }
  return parts;
}

function checkShape(t: HostTensor): void {
  if (t.dims.length === 0) {
    throw invalidArgument(`a scalar ${t.dtype} tensor has no batch dimension to concatenate on`);
  }
  const expected = elementCount(t.dims);
  if (t.data.length !== expected) {
    throw invalidArgument(
      `a ${t.dtype}[${t.dims.join(",")}] tensor must hold ${expected} elements, but holds ${t.data.length}`,
    );
  }
}

function trailingDims(t: HostTensor): number[] {
  return t.dims.slice(1);
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
