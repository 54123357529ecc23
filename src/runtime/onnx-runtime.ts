import { availableParallelism } from "node:os";
import { abortReasonToError } from "../errors/inferd-error.js";
import { withBigRunsOffLoop } from "./big-runs-off-loop.js";
import {
  chooseExecution,
  type ExecutionDecision,
  INLINE_MAX_RUN_MS,
  inlineMaxRows,
  runsPerTurn,
} from "./choose-execution.js";
import { createInProcessSession } from "./in-process-session.js";
import { InlineModel } from "./inline-model.js";
import type {
  ExecutionChoice,
  LoadedModel,
  LoadOptions,
  ModelRuntime,
  SessionOptions,
} from "./model-runtime.js";
import { defaultWorkerUrl } from "./start-worker.js";
import { chooseWorkerIntraOpThreads } from "./worker-intra-op-threads.js";
import { WorkerPool } from "./worker-pool.js";

/**
 * How many nice levels below the event loop a Predict version's worker threads compute
 * unless model.json sets `session.worker_nice` (see `lowerThreadPriority`). mlp_heavy over
 * gRPC without batching, c=64, 2 cores (session 25, 5 and 6 alternating rounds at load 1.3-2.5):
 * event-loop p99 4.7-6.7 ms at 5 against 7.8-10 ms at 0, at the same calls/s. Generative
 * versions keep 0: their decode speed is judged against a bare loop at the same priority.
 */
export const DEFAULT_WORKER_NICE = 5;

/** Options of `createOnnxRuntime`. */
export interface OnnxRuntimeOptions {
  /**
   * The session worker script. Defaults to `session-worker.ts`/`.js` next to this
   * module; tests substitute a wrapper (e.g. one that can be told to crash).
   */
  workerUrl?: URL;
  /** The "auto" bounds; default `INLINE_MAX_MODEL_BYTES` and `INLINE_MAX_RUN_MS` (tests shrink them). */
  inlineBounds?: { maxModelBytes?: number; maxRunMs?: number };
  /** Cores the worker sessions' intra-op threads are chosen from; default `os.availableParallelism()`. */
  cores?: number;
}

/**
 * The onnxruntime-node {@link ModelRuntime}. A model loaded "worker" is a pool of
 * `instanceCount` worker threads, each with its own `InferenceSession`, because
 * `session.run` computes synchronously on the thread that calls it; "inline" is one
 * session on this thread; "auto" picks by timing (see `chooseExecution`). A batching
 * version's worker sessions get, unless model.json sets them, the cores less one
 * intra-op threads (see `chooseWorkerIntraOpThreads`), said in the execution's reason;
 * every worker session computes {@link DEFAULT_WORKER_NICE} nice levels below the event loop.
 */
export function createOnnxRuntime(options: OnnxRuntimeOptions = {}): ModelRuntime {
  const workerUrl = options.workerUrl ?? defaultWorkerUrl();
  const cores = options.cores ?? availableParallelism();
  const startPool = async (load: LoadOptions, reason: string) => {
    const { instanceCount, session } = load;
    const rows = load.batchRows ?? 1;
    const threads = chooseWorkerIntraOpThreads(session.intraOpThreads, cores, instanceCount, rows);
    const { intraOpThreads } = threads;
    const workerNice = session.workerNice ?? DEFAULT_WORKER_NICE;
    const pool = await WorkerPool.start({
      workerUrl,
      modelPath: load.modelPath,
      session: { ...session, workerNice, ...(intraOpThreads !== undefined && { intraOpThreads }) },
      instanceCount,
      ...(load.signal ? { signal: load.signal } : {}),
    });
    // Linux only (see lowerThreadPriority): elsewhere the workers keep the server's priority.
    const niced =
      workerNice > 0 && process.platform === "linux"
        ? `; computing ${workerNice} nice levels below the event loop`
        : "";
    const why = `${reason}; ${threads.reason}${niced}`;
    return describedAs(pool, { mode: "worker", reason: why, concurrentRuns: instanceCount });
  };
  return {
    async load(load: LoadOptions): Promise<LoadedModel> {
      const mode = load.execution ?? "worker";
      if (mode === "worker") return startPool(load, 'execution is "worker"');
      const decision: ExecutionDecision =
        mode === "inline"
          ? {
              mode,
              reason: 'execution is "inline"',
              runMs: INLINE_MAX_RUN_MS,
              session: await createInProcessSession(load.modelPath, inlineSession(load.session)),
            }
          : await chooseExecution({
              modelPath: load.modelPath,
              session: inlineSession(load.session),
              batchRows: load.batchRows ?? 1,
              ...options.inlineBounds,
              ...(load.signal ? { signal: load.signal } : {}),
            });
      if (decision.mode === "worker") return startPool(load, decision.reason);
      if (load.signal?.aborted) {
        await decision.session.release();
        throw abortReasonToError(load.signal);
      }
      const concurrentRuns = runsPerTurn(decision.runMs);
      const maxRows = inlineMaxRows(load.batchRows ?? 1, decision.runMs);
      const reason = `${decision.reason}; ${concurrentRuns} run(s) per event-loop turn; runs over ${maxRows} rows in a worker`;
      const inline = new InlineModel(decision.session, { mode: "inline", reason, concurrentRuns });
      // Big runs go to one worker instance, started on the first of them.
      const bigRuns = { modelPath: load.modelPath, session: load.session, instanceCount: 1 };
      const start = () => startPool(bigRuns, "runs too big to run inline");
      return withBigRunsOffLoop(inline, { maxRows, start });
    },
  };
}

/**
 * The session options of an inline session: one intra-op thread unless model.json sets
 * it. A run cheap enough for the main thread gains nothing from a thread pool but pays
 * its hand-offs (mlp_small, 64 rows: 71 µs with ORT's default pool on 2 cores, 34 µs
 * with one thread), and idle pool threads spin on the cores the event loop needs.
 */
function inlineSession(session: SessionOptions): SessionOptions {
  return { ...session, intraOpThreads: session.intraOpThreads ?? 1 };
}

/** The pool, saying where it runs and why (a thin delegate: the pool's class stays as it is). */
function describedAs(pool: WorkerPool, execution: ExecutionChoice): LoadedModel {
  return {
    inputs: pool.inputs,
    outputs: pool.outputs,
    execution,
    get pending() {
      return pool.pending;
    },
    run: (inputs, outputNames, signal, options) => pool.run(inputs, outputNames, signal, options),
    runSeparately: (runs) => pool.runSeparately(runs),
    dispose: () => pool.dispose(),
  };
}
