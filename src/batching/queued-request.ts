import { removeAbortListener } from "../abort/owned-abort.js";
import type { TensorMap } from "../runtime/model-runtime.js";
import type { Plannable } from "./batch-planner.js";
import type { Prioritized } from "./priority-queue.js";

/**
 * A request from `run` until it settles: waiting in the queue, then running in a
 * batch. `settle*` are idempotent, so a late result after an abort is dropped.
 */
export interface QueuedRequest extends Plannable, Prioritized {
  /**
   * Undefined until {@link keyRequest} reads it from the inputs, which the batcher does
   * only when it plans (two or more queued, or a fixed delay): a lone request that
   * finds the instance idle runs alone, and never needs it.
   */
  groupKey: string | undefined;
  /** Whether {@link groupKey} was read yet. */
  keyed: boolean;
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

/**
 * The rows a request contributes: dim 0 of the input whose name sorts first (1 for
 * none or a scalar), whether or not it can join others.
 */
export function requestRows(inputs: TensorMap): number {
  return rowsOfFirstInput(inputs) ?? 1;
}

/** Reads the group key of a request once (see {@link requestGroupKey}). */
export function keyRequest(request: QueuedRequest, maxBatchSize: number): void {
  if (request.keyed) return;
  request.groupKey = requestGroupKey(request.inputs, request.outputNames, maxBatchSize);
  request.keyed = true;
}

/**
 * The key of the requests a request can join, or undefined when it must run alone.
 * It can join others only when batching is on, every input has the same dim 0 and that
 * fits in `maxBatchSize`; the key then captures what must agree within a batch: input
 * names, dtypes and trailing dims, and the requested output set.
 */
export function requestGroupKey(
  inputs: TensorMap,
  outputNames: readonly string[] | undefined,
  maxBatchSize: number,
): string | undefined {
  if (maxBatchSize <= 0) return undefined;
  const names = Object.keys(inputs);
  if (names.length > 1) names.sort();
  const firstRows = inputs[names[0] ?? ""]?.dims[0];
  if (firstRows === undefined || firstRows > maxBatchSize) return undefined;
  // Built by concatenation (no parts array, no JSON of the whole): the output set as a
  // JSON array, then per input its JSON-quoted name, dtype and [trailing dims]; each
  // piece delimits itself, so equal keys mean equal shapes.
  let key =
    outputNames === undefined || outputNames.length === 0
      ? "[]"
      : JSON.stringify([...new Set(outputNames)].sort());
  for (const name of names) {
    const tensor = inputs[name];
    if (tensor === undefined || tensor.dims[0] !== firstRows) return undefined;
    const { dims } = tensor;
    key += `${JSON.stringify(name)}${tensor.dtype}[${dims.length === 2 ? dims[1] : dims.slice(1).join(",")}]`;
  }
  return key;
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
