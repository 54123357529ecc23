import type { LoadedModel, RunOptions, TensorMap } from "../runtime/model-runtime.js";
import { concatBatch, splitBatch } from "./concat-batch.js";
import { type QueuedRequest, settleReject, settleResolve } from "./queued-request.js";

/** Called with each request the model answered successfully (for the response cache). */
export type OnAnswered = (request: QueuedRequest, outputs: TensorMap) => void;

/**
 * Runs one dispatched batch to completion and settles its requests. Several requests
 * are concatenated into one `model.run` and the outputs split back by row counts. If
 * that fails (a bad row, outputs that do not split), every request still waiting is
 * retried alone, so only the culprit gets an error. Never rejects.
 * A lone member is its own run, never concatenated (the batcher sends a request that
 * runs alone through {@link runOne}).
 */
export function runBatch(
  model: LoadedModel,
  members: readonly QueuedRequest[],
  onAnswered: OnAnswered,
): Promise<void> {
  return aloneOr(runTogether, model, members, onAnswered);
}

type Group = typeof runTogether;

/** A lone member runs by itself (the model's promise and one `then`); a group by `group`. */
function aloneOr(
  group: Group,
  model: LoadedModel,
  members: readonly QueuedRequest[],
  onAnswered: OnAnswered,
): Promise<void> {
  const [only] = members;
  if (members.length === 1 && only !== undefined) return runAlone(model, only, onAnswered);
  return group(model, members, onAnswered);
}

async function runTogether(
  model: LoadedModel,
  members: readonly QueuedRequest[],
  onAnswered: OnAnswered,
): Promise<void> {
  let parts: TensorMap[];
  try {
    parts = await runCombined(model, members);
  } catch {
    await Promise.all(members.map((m) => runAlone(model, m, onAnswered)));
    return;
  }
  members.forEach((member, i) => {
    const outputs = parts[i];
    if (outputs !== undefined && settleResolve(member, outputs)) onAnswered(member, outputs);
  });
}

/**
 * Runs requests as separate runs handed to the model together (`runSeparately`): no
 * concatenation, each request answered with its own outputs or its own error. Never rejects.
 */
export function runSeparately(
  model: LoadedModel,
  members: readonly QueuedRequest[],
  onAnswered: OnAnswered,
): Promise<void> {
  return aloneOr(runGroup, model, members, onAnswered);
}

async function runGroup(
  model: LoadedModel,
  members: readonly QueuedRequest[],
  onAnswered: OnAnswered,
): Promise<void> {
  if (model.runSeparately === undefined) {
    await Promise.all(members.map((m) => runAlone(model, m, onAnswered)));
    return;
  }
  const live = members.filter((m) => !m.settled);
  const runs = model.runSeparately(
    live.map((m) => ({
      inputs: m.inputs,
      outputNames: m.outputNames ?? [],
      signal: m.signal,
      callerHandlesAbort: true,
    })),
  );
  await Promise.all(
    runs.map((run, i) => {
      const request = live[i] as QueuedRequest;
      return run.then(
        (outputs) => {
          if (settleResolve(request, outputs)) onAnswered(request, outputs);
        },
        (error: unknown) => void settleReject(request, error),
      );
    }),
  );
}

/** The batcher's own listener on each request's signal answers an abort (see `QueuedRequest`). */
const CALLER_HANDLES_ABORT: RunOptions = { callerHandlesAbort: true };

const SETTLED: Promise<void> = Promise.resolve();

/**
 * Runs one dispatched request by itself and calls `onDone` once it settled (the
 * batcher's bookkeeping): the model's promise and a single `then` for both, the path of
 * every call at low load. Never rejects (a synchronous throw included), unless `onDone`
 * throws.
 */
export function runOne(
  model: LoadedModel,
  request: QueuedRequest,
  onAnswered: OnAnswered,
  onDone: () => void,
): Promise<void> {
  if (request.settled) return SETTLED.then(onDone);
  let run: Promise<TensorMap>;
  try {
    run = model.run(request.inputs, request.outputNames, request.signal, CALLER_HANDLES_ABORT);
  } catch (error) {
    settleReject(request, error);
    return SETTLED.then(onDone);
  }
  return run.then(
    (outputs) => {
      answer(request, outputs, onAnswered);
      onDone();
    },
    (error: unknown) => {
      settleReject(request, error);
      onDone();
    },
  );
}

/** Settles `request` with its outputs; a throwing `onAnswered` fails it instead. */
function answer(request: QueuedRequest, outputs: TensorMap, onAnswered: OnAnswered): void {
  try {
    if (settleResolve(request, outputs)) onAnswered(request, outputs);
  } catch (error) {
    settleReject(request, error);
  }
}

/** One request's own run, settled by it; never rejects (a synchronous throw included). */
function runAlone(
  model: LoadedModel,
  request: QueuedRequest,
  onAnswered: OnAnswered,
): Promise<void> {
  if (request.settled) return SETTLED;
  let run: Promise<TensorMap>;
  try {
    run = model.run(request.inputs, request.outputNames, request.signal, CALLER_HANDLES_ABORT);
  } catch (error) {
    settleReject(request, error);
    return SETTLED;
  }
  return run.then(
    // As the awaited form did: a throwing `onAnswered` must not reject the batch.
    (outputs) => answer(request, outputs, onAnswered),
    (error: unknown) => void settleReject(request, error),
  );
}

async function runCombined(
  model: LoadedModel,
  members: readonly QueuedRequest[],
): Promise<TensorMap[]> {
  const first = members[0];
  if (first === undefined) return [];
  const inputs: TensorMap = {};
  for (const name of Object.keys(first.inputs)) {
    inputs[name] = concatBatch(members.map((m) => m.inputs[name] ?? missing(name)));
  }
  const outputs = await model.run(inputs, first.outputNames);
  const rowCounts = members.map((m) => m.rows);
  const parts: TensorMap[] = members.map(() => ({}));
  for (const [name, tensor] of Object.entries(outputs)) {
    splitBatch(tensor, rowCounts).forEach((part, i) => {
      const target = parts[i];
      if (target !== undefined) target[name] = part;
    });
  }
  return parts;
}

function missing(name: string): never {
  // Unreachable: requests in one batch share the group key, which lists input names.
  throw new Error(`input "${name}" is missing from a batched request`);
}
