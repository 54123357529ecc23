import type { HostTensor, TensorSpec } from "../tensor/host-tensor.js";

/** onnxruntime session options that model.json may set. */
export interface SessionOptions {
  intraOpThreads?: number;
  interOpThreads?: number;
  graphOptimizationLevel?: "disabled" | "basic" | "extended" | "all";
  /**
   * Whether idle intra-op threads spin-wait for work (ORT's default: yes). Off costs a
   * little latency per run but leaves the core to other threads, e.g. the event loop
   * streaming tokens next to a generation worker on a small machine.
   */
  allowSpinning?: boolean;
}

/** What to load and how: the file, instances, session options, and the signal that aborts the load. */
export interface LoadOptions {
  /** Absolute path of the `.onnx` file. */
  modelPath: string;
  /** Worker threads, each holding its own session (Triton's instance count). */
  instanceCount: number;
  session: SessionOptions;
  signal?: AbortSignal;
}

/** Tensors by input or output name. */
export type TensorMap = Record<string, HostTensor>;

/** Per-request scheduling hints for `LoadedModel.run`. */
export interface RunOptions {
  /** Higher leaves a batching queue first; equal priorities keep arrival order. */
  priority?: number;
  /** Epoch milliseconds after which the request is rejected `deadline_exceeded` unrun. */
  deadline?: number;
}

/**
 * A loaded model version: one or more sessions behind one `run`. Implementations
 * never run inference on the caller's event loop.
 */
export interface LoadedModel {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /**
   * Runs the model. `outputNames` empty or absent returns every output. The input
   * tensors' buffers may be transferred to a worker: callers must not reuse them.
   * An abort before the run starts rejects without running; once running, the run
   * completes but its result is dropped. `options` carries scheduling hints that a
   * batching wrapper uses; a plain session pool may ignore them.
   */
  run(
    inputs: TensorMap,
    outputNames?: readonly string[],
    signal?: AbortSignal,
    options?: RunOptions,
  ): Promise<TensorMap>;
  /** Runs in flight or queued across all instances. */
  readonly pending: number;
  /** Releases the sessions and ends the workers. Waits for runs in flight. */
  dispose(): Promise<void>;
}

/**
 * What the registry needs from an inference engine. `runtime/` is the only
 * module that imports onnxruntime-node; everything else sees this interface, and
 * tests substitute fakes.
 */
export interface ModelRuntime {
  load(options: LoadOptions): Promise<LoadedModel>;
}
