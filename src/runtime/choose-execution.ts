import { readdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { abortReasonToError } from "../errors/inferd-error.js";
import { createInProcessSession, type InProcessSession } from "./in-process-session.js";
import type { SessionOptions, TensorMap } from "./model-runtime.js";
import { zeroInputs } from "./zero-inputs.js";

/**
 * Largest model file "auto" loads on the main thread: the load itself blocks the
 * event loop, and a model whose run fits in {@link INLINE_MAX_RUN_MS} is far smaller
 * (16 MiB of float32 weights is ~4 M parameters, already ~1 ms a row on one core).
 */
export const INLINE_MAX_MODEL_BYTES = 16 * 1024 * 1024;

/**
 * Median timed run "auto" accepts inline, in milliseconds. A run inline delays every
 * other call on the event loop by its duration; 0.5 ms is about what the worker round
 * trip costs, so below it running inline is cheaper than the trip, and a queue of a
 * few such runs stays far under the 10 ms event-loop delay budget.
 */
export const INLINE_MAX_RUN_MS = 0.5;

/**
 * Runs "auto" times after one warmup run; their median decides. Not the slowest: a run
 * preempted by another process on a busy machine takes several times its cost. Each is
 * timed from the moment ORT starts it, not from the call (see `timeRun`).
 */
export const INLINE_TIMED_RUNS = 7;

/** What `chooseExecution` needs: the model, the batch to time, and the bounds (tests shrink them). */
export interface ChooseExecutionOptions {
  modelPath: string;
  session: SessionOptions;
  /** Rows of the largest batch the version is run with. */
  batchRows: number;
  maxModelBytes?: number;
  maxRunMs?: number;
  signal?: AbortSignal;
}

/**
 * Longest stretch the runs sharing one event-loop turn may block it, in milliseconds
 * (an inline model starts `floor(INLINE_TURN_BUDGET_MS / run time)` queued runs
 * together): well under the 10 ms event-loop delay budget, and enough for a few
 * dozen microsecond runs to answer in one write pass.
 */
export const INLINE_TURN_BUDGET_MS = 2;

/** The decision: inline with its already loaded session and its timed run, or the worker pool. */
export type ExecutionDecision =
  | {
      readonly mode: "inline";
      readonly reason: string;
      readonly session: InProcessSession;
      /** The median timed run, ms; the bound when inline was asked for (not timed). */
      readonly runMs: number;
    }
  | { readonly mode: "worker"; readonly reason: string };

/** How many runs of `runMs` may share one event-loop turn; at least 1, at most 64. */
export function runsPerTurn(runMs: number): number {
  if (Number.isNaN(runMs)) return 1;
  return Math.min(64, Math.max(1, Math.floor(INLINE_TURN_BUDGET_MS / Math.max(runMs, 1e-3))));
}

/**
 * Most rows an inline model runs on the main thread: those its timed run (`runMs` for
 * `batchRows` rows) says fit in {@link INLINE_TURN_BUDGET_MS}, and never fewer than the
 * timed batch. A call may carry far more rows than the batch "auto" timed (a 16 MiB
 * JSON Predict: a million iris rows, ~100 ms); such a run goes to a worker instead.
 */
export function inlineMaxRows(batchRows: number, runMs: number): number {
  const rows = Math.max(1, batchRows);
  if (!(runMs > 0)) return rows;
  return Math.max(rows, Math.floor((rows * INLINE_TURN_BUDGET_MS) / runMs));
}

/**
 * The "auto" rule: a model whose files (see `versionBytes`) are under `maxModelBytes` is
 * loaded on this thread, run
 * once to warm up, then timed `INLINE_TIMED_RUNS` times on a zero batch of
 * `batchRows` rows; it stays inline when the median run is under `maxRunMs`, else
 * its session is released and the caller starts workers.
 * @throws Error naming the path when the model cannot load (the worker's message);
 *   the signal's domain error when aborted (the session is released first).
 */
export async function chooseExecution(options: ChooseExecutionOptions): Promise<ExecutionDecision> {
  const maxBytes = options.maxModelBytes ?? INLINE_MAX_MODEL_BYTES;
  const maxRunMs = options.maxRunMs ?? INLINE_MAX_RUN_MS;
  const size = await versionBytes(options.modelPath);
  if (size > maxBytes) {
    return {
      mode: "worker",
      reason: `model files are ${mib(size)}, over the ${mib(maxBytes)} inline bound`,
    };
  }
  const session = await createInProcessSession(options.modelPath, options.session);
  try {
    const median = await medianRun(session, options.batchRows, options.signal);
    const timed = `median of ${INLINE_TIMED_RUNS} runs of ${options.batchRows} row(s) took ${median.toFixed(3)} ms`;
    if (median < maxRunMs)
      return { mode: "inline", reason: `${timed}, under ${maxRunMs} ms`, session, runMs: median };
    await session.release();
    return { mode: "worker", reason: `${timed}, not under ${maxRunMs} ms` };
  } catch (error) {
    await session.release();
    throw error;
  }
}

/** Warms `session` up, then times runs of a zero batch; checks `signal` between runs. */
async function medianRun(
  session: InProcessSession,
  rows: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  const inputs = zeroInputs(session.inputs, rows);
  const times: number[] = [];
  for (let i = 0; i <= INLINE_TIMED_RUNS; i++) {
    if (signal?.aborted) throw abortReasonToError(signal);
    const took = await timeRun(session, inputs);
    // Run 0 is the warmup: it allocates arenas and picks kernels.
    if (i > 0) times.push(took);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

/**
 * One run's time, in milliseconds, from the moment ORT starts computing: ORT runs inside
 * a `setImmediate`, and an immediate queued just before the call runs just before it.
 * What held the event loop until then (other versions loading and timing at the same
 * time, the bench's load) stays out of the figure: timed from the call, a 10 µs run of
 * mlp_small measured 0.2 to over 0.5 ms on a loaded machine and sent it to a worker,
 * whose round trip then cost every call more than the run itself.
 */
async function timeRun(session: InProcessSession, inputs: TensorMap): Promise<number> {
  const called = performance.now();
  let started: number | undefined;
  const anchor = setImmediate(() => {
    started = performance.now();
  });
  await session.run(inputs);
  // Were ORT to answer without its hop, the anchor would not have run: time from the call.
  clearImmediate(anchor);
  return performance.now() - (started ?? called);
}

/**
 * The bytes of the model and of every file beside it in its version folder: weights in
 * external data files (`model.onnx_data`) load with the model, so a small model.onnx
 * says nothing of what a load on the main thread would read. A file that cannot be read
 * counts 0: the load below then fails with the session worker's error, word for word.
 */
async function versionBytes(modelPath: string): Promise<number> {
  const size = (path: string) =>
    stat(path).then(
      (s) => (s.isFile() ? s.size : 0),
      () => 0,
    );
  const dir = dirname(modelPath);
  const names = await readdir(dir).catch(() => [] as string[]);
  const others = names.filter((name) => join(dir, name) !== modelPath).map((n) => join(dir, n));
  const sizes = await Promise.all([modelPath, ...others].map(size));
  return sizes.reduce((sum, bytes) => sum + bytes, 0);
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
