import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isInferdError } from "../../../src/errors/inferd-error.js";
import type { GenerativeModel } from "../../../src/generation/generative-model.js";
import {
  type GenerativeModelOptions,
  loadGenerativeModel,
} from "../../../src/generation/load-generative-model.js";
import type * as startWorkerModule from "../../../src/runtime/start-worker.js";
import { FIXTURE_REPO } from "../../helpers/fixtures.js";

/**
 * The generation worker's lifecycle through `loadGenerativeModel`, with `startWorker`
 * wrapped: it records every worker started, and starts `substitute` instead of the
 * real script when set.
 */
const workers = vi.hoisted(() => ({
  substitute: undefined as URL | undefined,
  started: [] as Worker[],
}));

vi.mock("../../../src/runtime/start-worker.js", async (importOriginal) => {
  const original = await importOriginal<typeof startWorkerModule>();
  return {
    ...original,
    startWorker: (url: URL, options: Parameters<typeof original.startWorker>[1]) => {
      const worker = original.startWorker(workers.substitute ?? url, options);
      workers.started.push(worker);
      return worker;
    },
  };
});

const DIR = join(FIXTURE_REPO, "tiny_llama/1");
const OPTIONS: GenerativeModelOptions = {
  dir: DIR,
  modelPath: join(DIR, "model.onnx"),
  maxConcurrentSequences: 2,
  maxWaiting: 0,
};

/** Resolves with "timeout" after `ms`, to tell a hang (the old behaviour) from an answer. */
const timeout = (ms: number) =>
  new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), ms).unref());

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.fail("expected a rejection"),
    (error: unknown) => error,
  );

const exited = (worker: Worker) =>
  new Promise<number>((resolve) => worker.once("exit", (code: number) => resolve(code)));

let model: GenerativeModel | undefined;
afterEach(async () => {
  workers.substitute = undefined;
  workers.started.length = 0;
  await model?.dispose();
  model = undefined;
});

describe("the generation worker's lifecycle", { timeout: 60_000 }, () => {
  it("fails the load when the worker exits before ready, instead of hanging", async () => {
    workers.substitute = new URL("./exiting-worker.ts", import.meta.url);
    const load = errorOf(loadGenerativeModel(OPTIONS));
    const error = await Promise.race([load, timeout(20_000)]);
    expect(isInferdError(error) && error.kind).toBe("failed_precondition");
    expect((error as Error).message).toBe(
      "generation worker failed: generation worker exited with code 3",
    );
    expect(workers.started).toHaveLength(1);
  });

  it("after the worker died: generate fails unavailable and dispose returns at once", async () => {
    model = await loadGenerativeModel(OPTIONS);
    const [worker] = workers.started;
    if (worker === undefined) throw new Error("no worker was started");
    const exit = exited(worker);
    await worker.terminate();
    await exit;
    const stream = model.generate(
      { promptTokenIds: [1, 5], maxTokens: 2 },
      new AbortController().signal,
    );
    const error = await Promise.race([
      errorOf(stream[Symbol.asyncIterator]().next()),
      timeout(10_000),
    ]);
    expect(isInferdError(error) && error.kind).toBe("unavailable");
    expect((error as Error).message).toBe("the generation worker has stopped");
    // Before, dispose waited its whole 10 s for a "closed" the dead worker never sends.
    const disposed = model.dispose().then(() => "disposed" as const);
    expect(await Promise.race([disposed, timeout(5_000)])).toBe("disposed");
  });

  it("cancels the load when its signal aborted before the load waited for the worker", async () => {
    const controller = new AbortController();
    const load = errorOf(loadGenerativeModel({ ...OPTIONS, signal: controller.signal }));
    // Aborted while the tokenizer loads, before the worker starts.
    controller.abort();
    const error = await Promise.race([load, timeout(20_000)]);
    expect(isInferdError(error) && error.kind).toBe("canceled");
    expect((error as Error).message).toBe("the client cancelled the request");
    // The loaded worker was closed, not left running.
    const [worker] = workers.started;
    if (worker === undefined) throw new Error("no worker was started");
    await expect.poll(() => worker.threadId).toBe(-1);
  });
});
