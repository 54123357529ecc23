import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isInferdError } from "../../src/errors/inferd-error.js";
import { loadGenerativeModel } from "../../src/generation/load-generative-model.js";
import { createOnnxRuntime } from "../../src/runtime/onnx-runtime.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a load, aborts it after `delayMs`, and says how it ended: "loaded" (it won
 * the race; the model is disposed again) or the error kind it rejected with.
 */
async function abortAfter(
  delayMs: number,
  start: (signal: AbortSignal) => Promise<{ dispose(): Promise<void> }>,
): Promise<string> {
  const controller = new AbortController();
  const load = start(controller.signal);
  await sleep(delayMs);
  controller.abort();
  return load.then(
    (model) => model.dispose().then(() => "loaded"),
    (error: unknown) => (isInferdError(error) ? error.kind : String(error)),
  );
}

/**
 * Aborting a load while the worker is still creating its ORT session must neither
 * crash the process (terminating the worker mid-create does: "terminate called
 * after throwing an instance of 'Napi::Error'") nor leave the worker behind.
 * Several abort points are tried, so at least some land inside the native create.
 */
describe("a load aborted while the session is being created", () => {
  it("worker pool: rejects canceled, and the next load of the same model works", async () => {
    const runtime = createOnnxRuntime();
    const modelPath = join(FIXTURE_REPO, "iris", "2", "model.onnx");
    for (const delayMs of [0, 1, 3, 8, 15, 30]) {
      const outcome = await abortAfter(delayMs, (signal) =>
        runtime.load({ modelPath, instanceCount: 2, session: {}, signal }),
      );
      // A load that finished before the abort is fine; otherwise it must say canceled.
      expect(["loaded", "canceled"]).toContain(outcome);
    }
    const model = await runtime.load({ modelPath, instanceCount: 1, session: {} });
    expect(model.inputs.map((i) => i.name)).toEqual(["features"]);
    await model.dispose();
  });

  it("generation engine: rejects canceled and leaves no worker running", async () => {
    const dir = join(FIXTURE_REPO, "tiny_llama", "1");
    for (const delayMs of [0, 5, 20, 60]) {
      const outcome = await abortAfter(delayMs, (signal) =>
        loadGenerativeModel({
          dir,
          modelPath: join(dir, "model.onnx"),
          maxConcurrentSequences: 2,
          maxWaiting: 2,
          signal,
        }),
      );
      expect(["loaded", "canceled"]).toContain(outcome);
    }
  });
});
