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
  /**
   * Nice levels below the server's own priority at which a worker thread's session
   * computes (Linux; see `lowerThreadPriority`): the event loop then preempts
   * onnxruntime's threads when every core is busy. Ignored on the main thread (inline
   * sessions); 0 or absent: no change.
   */
  workerNice?: number;
  /**
   * Whether ORT repacks weights at creation for its kernels (its default: yes). Off, a
   * session with external data reads its weights in place: it opens faster and adds
   * little to the process's peak, but its MatMuls run slower (MatMulNBits much slower).
   * The load-time check's reference session sets it off (see `startExportReference`).
   */
  prepackWeights?: boolean;
}

/**
 * Where a model's runs execute. "worker": a pool of worker threads, each with its own
 * session; "inline": one session on the main thread, for models whose run costs less
 * than the worker round trip (two `postMessage`s and two thread wake-ups); "auto":
 * decided at load by timing the model (see `chooseExecution`).
 */
export type ExecutionMode = "auto" | "worker" | "inline";

/** The mode a version got, and why, for the load log line. */
export interface ExecutionChoice {
  readonly mode: "worker" | "inline";
  readonly reason: string;
  /**
   * Runs worth handing the model at once: the worker count, or inline the runs that
   * may share one event-loop turn (see `INLINE_TURN_BUDGET_MS`).
   */
  readonly concurrentRuns: number;
}

/** What to load and how: the file, instances, session options, and the signal that aborts the load. */
export interface LoadOptions {
  /** Absolute path of the `.onnx` file. */
  modelPath: string;
  /** Worker threads, each holding its own session (Triton's instance count); ignored inline. */
  instanceCount: number;
  session: SessionOptions;
  /**
   * Where runs execute; absent means "worker" (a caller of the runtime opts in to the
   * main thread; model.json's default is "auto").
   */
  execution?: ExecutionMode;
  /** Rows of the largest batch the version is run with, which "auto" times; default 1. */
  batchRows?: number;
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
  /**
   * The caller listens to the run's signal itself and answers its own caller at once on
   * abort (the batcher does): the model adds no second listener, only skips a run whose
   * signal aborted before it started, and settles when the run ends as if not aborted.
   * One listener per request instead of two (~µs each, add and remove, per call).
   */
  callerHandlesAbort?: boolean;
}

/** One run of {@link LoadedModel.runSeparately}: `run`'s first three arguments. */
export interface SeparateRun {
  readonly inputs: TensorMap;
  readonly outputNames?: readonly string[] | undefined;
  readonly signal?: AbortSignal | undefined;
  /** See {@link RunOptions.callerHandlesAbort}. */
  readonly callerHandlesAbort?: boolean;
}

/**
 * A loaded model version: one or more sessions behind one `run`. Implementations
 * run inference off the caller's event loop (in worker threads), except a model
 * loaded inline: its run blocks the event loop for its duration, which is allowed
 * only because it was asked for explicitly or timed at load below a bound
 * (`INLINE_MAX_RUN_MS`) that keeps the loop responsive, and because for such a model
 * the worker round trip costs more than the run itself.
 */
export interface LoadedModel {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Where the runs execute and why; absent for models that do not say (fakes, wrappers). */
  readonly execution?: ExecutionChoice;
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
  /**
   * Optional: the same as calling `run` for each, in order, but handed to the sessions
   * together: a worker pool sends them to a worker in one message (each still its own
   * run: no concatenation, for models that cannot batch). One promise per run. The
   * batcher uses it for requests it passes through (batching off).
   */
  runSeparately?(runs: readonly SeparateRun[]): Promise<TensorMap>[];
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
