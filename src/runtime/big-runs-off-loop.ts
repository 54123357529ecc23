import { unavailable } from "../errors/inferd-error.js";
import type { LoadedModel, RunOptions, TensorMap } from "./model-runtime.js";

/** Options of `withBigRunsOffLoop`. */
export interface BigRunsOffLoopOptions {
  /** Runs of more rows than this leave the main thread (see `inlineMaxRows`). */
  readonly maxRows: number;
  /** Starts the model where big runs go (one worker instance); called on the first big run. */
  readonly start: () => Promise<LoadedModel>;
}

/**
 * An inline model whose big runs go to a worker instance started on the first of them.
 * Why: "auto" times the model on its usual batch, but a client may send far more rows
 * in one call (a 16 MiB JSON Predict is a million iris rows, ~100 ms of ORT), and an
 * inline run blocks the event loop for all of it. A run's rows are its first input's
 * first dimension: a small run costs one comparison more. The worker's session is the
 * same model under the same options, so the answer is the same; it lives until
 * `dispose`, which waits for both sides' runs.
 */
export function withBigRunsOffLoop(
  inline: LoadedModel,
  options: BigRunsOffLoopOptions,
): LoadedModel {
  let offLoop: Promise<LoadedModel> | undefined;
  let starting = 0;
  let disposing = false;
  const runOffLoop = async (
    inputs: TensorMap,
    outputNames: readonly string[] | undefined,
    signal: AbortSignal | undefined,
    runOptions: RunOptions | undefined,
  ): Promise<TensorMap> => {
    starting++;
    try {
      offLoop ??= options.start();
      // A failed start fails this run; the next big run tries again.
      offLoop.catch(() => {
        offLoop = undefined;
      });
      const model = await offLoop;
      return await model.run(inputs, outputNames, signal, runOptions);
    } finally {
      starting--;
    }
  };
  return {
    inputs: inline.inputs,
    outputs: inline.outputs,
    ...(inline.execution && { execution: inline.execution }),
    get pending() {
      return inline.pending + starting;
    },
    run(inputs, outputNames, signal, runOptions) {
      const rows = firstRows(inputs);
      if (rows <= options.maxRows) return inline.run(inputs, outputNames, signal, runOptions);
      if (disposing) return Promise.reject(unavailable("the model is being unloaded"));
      return runOffLoop(inputs, outputNames, signal, runOptions);
    },
    async dispose() {
      disposing = true;
      await inline.dispose();
      const started = await offLoop?.catch(() => undefined);
      await started?.dispose();
    },
  };
}

/** The first dimension of the first input (0 for none or a scalar). */
function firstRows(inputs: TensorMap): number {
  for (const name in inputs) return inputs[name]?.dims[0] ?? 0;
  return 0;
}
