import type { TensorSpec } from "../tensor/host-tensor.js";
import type { SessionOptions, TensorMap } from "./model-runtime.js";
import type { WorkerCloseMessage, WorkerLifecycleMessage } from "./worker-envelope.js";

/** What a session worker receives as `workerData`. */
export interface SessionWorkerData {
  readonly modelPath: string;
  readonly session: SessionOptions;
}

/** One run of a "run" message: its own inputs and outputs, never concatenated with others. */
export interface SessionRun {
  readonly inputs: TensorMap;
  readonly outputNames: readonly string[];
}

/** What one run of a "run" message came to: its outputs, or ORT's error message. */
export type SessionRunOutcome =
  | { readonly outputs: TensorMap; readonly error?: undefined }
  | { readonly error: string };

/**
 * Messages from the pool to a session worker. One message at a time per worker; a
 * "run" carries every run that queued while the worker was busy (one or more), run
 * one after the other as separate runs: one hand-off each way per group instead of
 * per run, for models whose run costs less than the round trip.
 */
export type ToSessionWorker =
  | { readonly type: "run"; readonly id: number; readonly runs: readonly SessionRun[] }
  | WorkerCloseMessage;

/** Messages from a session worker to the pool: "ready" carries the model's signature. */
export type FromSessionWorker =
  | WorkerLifecycleMessage<{
      readonly inputs: readonly TensorSpec[];
      readonly outputs: readonly TensorSpec[];
    }>
  | {
      readonly type: "result";
      readonly id: number;
      /** One per run of the "run" message, in its order. */
      readonly outcomes: readonly SessionRunOutcome[];
    };

/**
 * Prepares tensors for `postMessage` without copying: returns the ArrayBuffers to
 * transfer. A view that does not span its whole buffer (a slice of a larger one) is
 * first replaced by a copy in `tensors`, so that transferring never detaches memory
 * the caller still uses for something else. Strings and SharedArrayBuffers are cloned.
 */
export function prepareTransfer(tensors: TensorMap): {
  tensors: TensorMap;
  transfer: ArrayBuffer[];
} {
  const out: TensorMap = {};
  const transfer = new Set<ArrayBuffer>();
  for (const [name, tensor] of Object.entries(tensors)) {
    const data = tensor.data;
    if (Array.isArray(data) || !(data.buffer instanceof ArrayBuffer)) {
      out[name] = tensor;
      continue;
    }
    const ownsBuffer = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
    const owned = ownsBuffer && !transfer.has(data.buffer) ? data : data.slice();
    transfer.add(owned.buffer as ArrayBuffer);
    out[name] = owned === data ? tensor : { dtype: tensor.dtype, dims: tensor.dims, data: owned };
  }
  return { tensors: out, transfer: [...transfer] };
}
