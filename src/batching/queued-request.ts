import { removeAbortListener } from "../abort/owned-abort.js";
import type { TensorMap } from "../runtime/model-runtime.js";
import type { Plannable } from "./batch-planner.js";
import type { Prioritized } from "./priority-queue.js";

/**
 * A request from `run` until it settles: waiting in the queue, then running in a
 * batch. `settle*` are idempotent, so a late result after an abort is dropped.
 */
export interface QueuedRequest extends Plannable, Prioritized {
  readonly inputs: TensorMap;
  readonly outputNames: readonly string[] | undefined;
  readonly signal: AbortSignal | undefined;
  /** Epoch ms after which it must not start; undefined: no deadline. */
  readonly deadline: number | undefined;
  readonly cacheKey: string | undefined;
  settled: boolean;
  /** The caller's promise, settled once through {@link settleResolve} / {@link settleReject}. */
  readonly resolve: (outputs: TensorMap) => void;
  readonly reject: (error: unknown) => void;
  /** Its abort listener on `signal`, removed when it settles; one for its whole life. */
  readonly onAbort: (() => void) | undefined;
}

/** How a request may be batched: its rows, and the key of requests it can join. */
export interface RequestShape {
  readonly rows: number;
  readonly groupKey: string | undefined;
}

/**
 * Reads the batch shape of a request. It can join others only when batching is on,
 * every input has the same dim 0 and that fits in `maxBatchSize`; the key then
 * captures what must agree within a batch: input names, dtypes and trailing dims,
 * and the requested output set.
 */
export function requestShape(
  inputs: TensorMap,
  outputNames: readonly string[] | undefined,
  maxBatchSize: number,
): RequestShape {
  // Batching off: only the rows matter (statistics); no sort, no key.
  if (maxBatchSize <= 0) return { rows: rowsOfFirstInput(inputs) ?? 1, groupKey: undefined };
  const names = Object.keys(inputs);
  if (names.length > 1) names.sort();
  const firstRows = inputs[names[0] ?? ""]?.dims[0];
  const rows = firstRows ?? 1;
  if (firstRows === undefined || firstRows > maxBatchSize) return { rows, groupKey: undefined };
  // Built by concatenation (no parts array, no JSON of the whole): the output set as a
  // JSON array, then per input its JSON-quoted name, dtype and [trailing dims]; each
  // piece delimits itself, so equal keys mean equal shapes.
  let key =
    outputNames === undefined || outputNames.length === 0
      ? "[]"
      : JSON.stringify([...new Set(outputNames)].sort());
  for (const name of names) {
    const tensor = inputs[name];
    if (tensor === undefined || tensor.dims[0] !== firstRows) return { rows, groupKey: undefined };
    const { dims } = tensor;
    key += `${JSON.stringify(name)}${tensor.dtype}[${dims.length === 2 ? dims[1] : dims.slice(1).join(",")}]`;
  }
  return { rows, groupKey: key };
}

/** Dim 0 of the input whose name sorts first, as the full shape reads it, without sorting. */
function rowsOfFirstInput(inputs: TensorMap): number | undefined {
  let first: string | undefined;
  for (const name in inputs) if (first === undefined || name < first) first = name;
  return first === undefined ? undefined : inputs[first]?.dims[0];
}

/** Resolves a request unless it already settled; true when this call settled it. */
export function settleResolve(request: QueuedRequest, outputs: TensorMap): boolean {
  if (request.settled) return false;
  request.settled = true;
  if (request.onAbort && request.signal) removeAbortListener(request.signal, request.onAbort);
  request.resolve(outputs);
  return true;
}

/** Rejects a request unless it already settled; true when this call settled it. */
export function settleReject(request: QueuedRequest, error: unknown): boolean {
  if (request.settled) return false;
  request.settled = true;
  if (request.onAbort && request.signal) removeAbortListener(request.signal, request.onAbort);
  request.reject(error);
  return true;
}
