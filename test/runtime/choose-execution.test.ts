import { copyFile, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isInferdError } from "../../src/errors/inferd-error.js";
import {
  chooseExecution,
  INLINE_MAX_RUN_MS,
  inlineMaxRows,
  runsPerTurn,
} from "../../src/runtime/choose-execution.js";
import type { LoadedModel } from "../../src/runtime/model-runtime.js";
import { createOnnxRuntime } from "../../src/runtime/onnx-runtime.js";
import { WorkerPool } from "../../src/runtime/worker-pool.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";

const IRIS = join(FIXTURE_REPO, "iris", "2", "model.onnx");
const loaded: LoadedModel[] = [];
const keep = (model: LoadedModel) => {
  loaded.push(model);
  return model;
};

describe("chooseExecution (the auto rule)", () => {
  afterEach(async () => {
    await Promise.all(loaded.splice(0).map((m) => m.dispose()));
  });

  it("keeps the iris model inline: its 64-row run is far under the bound", async () => {
    const decision = await chooseExecution({ modelPath: IRIS, session: {}, batchRows: 64 });
    expect(decision.mode).toBe("inline");
    expect(decision.reason).toMatch(
      new RegExp(
        `^median of 7 runs of 64 row\\(s\\) took [0-9.]+ ms, under ${INLINE_MAX_RUN_MS} ms$`,
      ),
    );
    if (decision.mode === "inline") {
      expect(decision.session.inputs.map((i) => i.name)).toEqual(["features"]);
      await decision.session.release();
    }
  });

  it("sends a model whose runs exceed the bound to the workers", async () => {
    // No run takes less than 0 ms: the bound is the only thing that changed.
    const decision = await chooseExecution({
      modelPath: IRIS,
      session: {},
      batchRows: 1,
      maxRunMs: 0,
    });
    expect(decision).toEqual({
      mode: "worker",
      reason: expect.stringMatching(
        /^median of 7 runs of 1 row\(s\) took [0-9.]+ ms, not under 0 ms$/,
      ),
    });
  });

  it("times the run, not the event loop it waited for: a loop held 5 ms a turn keeps a fast model inline", async () => {
    // Every turn of the loop busy for 5 ms, as other versions loading or a loaded machine
    // hold it: timed from the call, each run would take over 5 ms.
    let holding = true;
    const hold = () => {
      const until = performance.now() + 5;
      while (performance.now() < until) {}
      if (holding) setImmediate(hold);
    };
    setImmediate(hold);
    const decision = await chooseExecution({
      modelPath: IRIS,
      session: {},
      batchRows: 1,
      maxRunMs: 4,
    }).finally(() => {
      holding = false;
    });
    expect(decision.mode, decision.reason).toBe("inline");
    if (decision.mode === "inline") await decision.session.release();
  });

  it("never loads a file over the size bound on the main thread", async () => {
    const decision = await chooseExecution({
      modelPath: IRIS,
      session: {},
      batchRows: 1,
      maxModelBytes: 100,
    });
    expect(decision).toEqual({
      mode: "worker",
      reason: expect.stringMatching(
        /^model files are [0-9.]+ MiB, over the 0\.0 MiB inline bound$/,
      ),
    });
  });

  it("counts the files beside model.onnx (external weights) against the size bound", async () => {
    const dir = await mkdtemp(join(tmpdir(), "inferd-choose-"));
    try {
      const modelPath = join(dir, "model.onnx");
      await copyFile(IRIS, modelPath);
      const modelBytes = (await stat(modelPath)).size;
      const bounds = { modelPath, session: {}, batchRows: 1, maxModelBytes: modelBytes + 1000 };
      const alone = await chooseExecution(bounds);
      expect(alone.mode).toBe("inline");
      if (alone.mode === "inline") await alone.session.release();
      await writeFile(join(dir, "model.onnx_data"), new Uint8Array(2000));
      expect((await chooseExecution(bounds)).mode).toBe("worker");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rejects with the signal's error when aborted, and with the worker's load error for a missing file", async () => {
    const aborted = await chooseExecution({
      modelPath: IRIS,
      session: {},
      batchRows: 1,
      signal: AbortSignal.abort(),
    }).catch((e: unknown) => e);
    expect(isInferdError(aborted) && aborted.kind).toBe("canceled");
    const missing = join(FIXTURE_REPO, "no-such.onnx");
    const inline = await chooseExecution({ modelPath: missing, session: {}, batchRows: 1 }).catch(
      (e: Error) => e.message,
    );
    const worker = await createOnnxRuntime()
      .load({ modelPath: missing, instanceCount: 1, session: {} })
      .catch((e: Error) => e.message);
    expect(inline).toMatch(/^cannot load ONNX model .*no-such\.onnx: /);
    expect(inline).toBe(worker);
  });
});

describe("runsPerTurn", () => {
  it("fills the 2 ms turn budget, between 1 and 64 runs", () => {
    expect([runsPerTurn(0.5), runsPerTurn(0.15), runsPerTurn(0.01), runsPerTurn(0)]).toEqual([
      4, 13, 64, 64,
    ]);
    expect([runsPerTurn(3), runsPerTurn(Number.NaN)]).toEqual([1, 1]);
  });
});

describe("inlineMaxRows", () => {
  it("runs inline the rows that fit the 2 ms turn budget, never fewer than the timed batch", () => {
    expect([inlineMaxRows(64, 0.02), inlineMaxRows(64, 0.5), inlineMaxRows(64, 4)]).toEqual([
      6400, 256, 64,
    ]);
    expect([inlineMaxRows(0, 0.5), inlineMaxRows(8, 0), inlineMaxRows(8, Number.NaN)]).toEqual([
      4, 8, 8,
    ]);
  });
});

describe("createOnnxRuntime execution modes", () => {
  afterEach(async () => {
    await Promise.all(loaded.splice(0).map((m) => m.dispose()));
  });

  it("says which mode each load got and why", async () => {
    const NICED =
      process.platform === "linux" ? "; computing 5 nice levels below the event loop" : "";
    const runtime = createOnnxRuntime({ cores: 2 });
    const base = { modelPath: IRIS, instanceCount: 2, session: {} };
    expect(keep(await runtime.load({ ...base, batchRows: 8 })).execution).toEqual({
      mode: "worker",
      reason:
        'execution is "worker"; 1 intra-op thread(s) per instance: 2 cores less 1 for the event loop while batches run, shared by 2 instances' +
        NICED,
      concurrentRuns: 2,
    });
    expect(keep(await runtime.load(base)).execution).toEqual({
      mode: "worker",
      reason:
        'execution is "worker"; onnxruntime\'s default intra-op threads (no batching: one-row runs use every core)' +
        NICED,
      concurrentRuns: 2,
    });
    // Not timed: assumed as slow as the bound allows, 0.5 ms, so 4 runs fill the 2 ms turn.
    expect(keep(await runtime.load({ ...base, execution: "inline" })).execution).toEqual({
      mode: "inline",
      reason: 'execution is "inline"; 4 run(s) per event-loop turn; runs over 4 rows in a worker',
      concurrentRuns: 4,
    });
    expect(keep(await runtime.load({ ...base, execution: "auto" })).execution?.mode).toBe("inline");
    const slow = createOnnxRuntime({ inlineBounds: { maxRunMs: 0 } });
    expect(keep(await slow.load({ ...base, execution: "auto" })).execution?.mode).toBe("worker");
  });
});

describe("an inline model's big runs", () => {
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(loaded.splice(0).map((m) => m.dispose()));
  });

  // Untimed "inline" assumes 0.5 ms per row: runs over 4 rows leave the main thread.
  it("run in one worker instance, started on the first, with the inline run's answer", async () => {
    const start = vi.spyOn(WorkerPool, "start");
    const base = { modelPath: IRIS, instanceCount: 3, session: {} };
    const model = keep(await createOnnxRuntime().load({ ...base, execution: "inline" }));
    const rows = (n: number) => ({
      features: {
        dtype: "float32" as const,
        dims: [n, 4],
        data: Float32Array.from({ length: n * 4 }, (_, i) => ((i * 7) % 13) / 2),
      },
    });
    const small = await model.run(rows(4));
    expect(start).not.toHaveBeenCalled();
    const big = await model.run(rows(40));
    await model.run(rows(5));
    expect(start.mock.calls.map(([options]) => options.instanceCount)).toEqual([1]);
    for (const [name, tensor] of Object.entries(small)) {
      const answer = (data: unknown) => Array.from(data as ArrayLike<unknown>);
      expect(answer(big[name]?.data).slice(0, tensor.data.length)).toEqual(answer(tensor.data));
    }
  });
});
