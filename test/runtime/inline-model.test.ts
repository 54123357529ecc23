import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createDynamicBatcher } from "../../src/batching/dynamic-batcher.js";
import { isInferdError } from "../../src/errors/inferd-error.js";
import type { InProcessSession } from "../../src/runtime/in-process-session.js";
import { InlineModel } from "../../src/runtime/inline-model.js";
import type { LoadedModel, TensorMap } from "../../src/runtime/model-runtime.js";
import { createOnnxRuntime } from "../../src/runtime/onnx-runtime.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";

const IRIS = join(FIXTURE_REPO, "iris", "2", "model.onnx");
const kindOf = (e: unknown) => (isInferdError(e) ? e.kind : `not an InferdError: ${String(e)}`);
const features = (): TensorMap => ({
  features: {
    dtype: "float32",
    dims: [3, 4],
    data: new Float32Array([5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3, 5.9, 3.0, 4.2, 1.5]),
  },
});

/** A session whose runs finish when the test says, counting runs and releases. */
function gatedSession() {
  const gates: Array<() => void> = [];
  const counts = { runs: 0, released: 0 };
  const session: InProcessSession = {
    inputs: [],
    outputs: [],
    run: () => {
      counts.runs++;
      return new Promise<TensorMap>((resolve) => gates.push(() => resolve({})));
    },
    release: async () => {
      counts.released++;
    },
  };
  const open = () => gates.shift()?.();
  return { session, counts, open };
}
const tick = () => new Promise((r) => setImmediate(r));

describe("inline model on iris", () => {
  const loaded: LoadedModel[] = [];
  afterEach(async () => {
    await Promise.all(loaded.splice(0).map((m) => m.dispose()));
  });
  const load = async (execution: "worker" | "inline") => {
    const model = await createOnnxRuntime().load({
      modelPath: IRIS,
      instanceCount: 1,
      session: {},
      execution,
    });
    loaded.push(model);
    return model;
  };

  it("answers what the worker answers, to 1e-6", async () => {
    const [inline, worker] = [await load("inline"), await load("worker")];
    expect(inline.inputs).toEqual(worker.inputs);
    expect(inline.outputs).toEqual(worker.outputs);
    const got = await inline.run(features());
    const want = await worker.run(features());
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    const probs = got.probabilities?.data as Float32Array;
    const wantProbs = want.probabilities?.data as Float32Array;
    expect(got.probabilities?.dims).toEqual([3, 3]);
    for (let i = 0; i < wantProbs.length; i++) {
      expect(Math.abs((probs[i] as number) - (wantProbs[i] as number))).toBeLessThan(1e-6);
    }
    expect(got.label?.data).toEqual(want.label?.data);
    expect(Object.keys(await inline.run(features(), ["label"]))).toEqual(["label"]);
  });

  it("fails a bad run with the worker's error kind and message", async () => {
    const [inline, worker] = [await load("inline"), await load("worker")];
    const bad = (): TensorMap => ({
      features: { dtype: "float32", dims: [1, 3], data: new Float32Array(3) },
    });
    const a = await inline.run(bad()).catch((e: unknown) => e);
    const b = await worker.run(bad()).catch((e: unknown) => e);
    expect(kindOf(a)).toBe("internal");
    expect(kindOf(b)).toBe("internal");
    expect((a as Error).message).toBe((b as Error).message);
    expect((a as Error).message).toMatch(/^onnxruntime failed to run the model: /);
  });
});

describe("inline model contract", () => {
  it("runs one job at a time in order and counts pending", async () => {
    const { session, counts, open } = gatedSession();
    const model = new InlineModel(session, { mode: "inline", reason: "test", concurrentRuns: 1 });
    const order: number[] = [];
    const first = model.run({}).then(() => order.push(1));
    const second = model.run({}).then(() => order.push(2));
    expect(model.pending).toBe(2);
    expect(counts.runs).toBe(1);
    open();
    await first;
    await tick();
    expect(model.pending).toBe(1);
    expect(counts.runs).toBe(2);
    open();
    await second;
    expect(order).toEqual([1, 2]);
    expect(model.pending).toBe(0);
  });

  it("runs up to concurrentRuns jobs at once, the rest as slots free up", async () => {
    const { session, counts, open } = gatedSession();
    const model = new InlineModel(session, { mode: "inline", reason: "test", concurrentRuns: 3 });
    const runs = Array.from({ length: 5 }, () => model.run({}));
    expect([counts.runs, model.pending]).toEqual([3, 5]);
    open();
    await runs[0];
    expect([counts.runs, model.pending]).toEqual([4, 4]);
    for (let i = 0; i < 3; i++) open();
    await Promise.all(runs.slice(0, 4));
    expect([counts.runs, model.pending]).toEqual([5, 1]);
    open();
    await Promise.all(runs);
    expect([counts.runs, model.pending]).toEqual([5, 0]);
  });

  it("runs a turn's jobs back to back and answers them after the last, as ORT's hop allows", async () => {
    // Like onnxruntime-node: each run computes inside its own setImmediate.
    const events: string[] = [];
    let next = 0;
    const session: InProcessSession = {
      inputs: [],
      outputs: [],
      run: () => {
        const n = next++;
        return new Promise<TensorMap>((resolve) =>
          setImmediate(() => {
            events.push(`ran ${n}`);
            resolve({});
          }),
        );
      },
      release: async () => {},
    };
    const model = new InlineModel(session, { mode: "inline", reason: "test", concurrentRuns: 3 });
    const runs = Array.from({ length: 4 }, (_, i) =>
      model.run({}).then(() => events.push(`answered ${i}`)),
    );
    await Promise.all(runs);
    expect(events).toEqual([
      "ran 0",
      "ran 1",
      "ran 2",
      "answered 0",
      "answered 1",
      "answered 2",
      "ran 3",
      "answered 3",
    ]);
    expect(model.pending).toBe(0);
  });

  it("rejects an aborted job without running it, and drops a result aborted mid-run", async () => {
    const { session, counts, open } = gatedSession();
    const model = new InlineModel(session, { mode: "inline", reason: "test", concurrentRuns: 1 });
    expect(kindOf(await model.run({}, [], AbortSignal.abort()).catch((e) => e))).toBe("canceled");
    expect(counts.runs).toBe(0);
    const running = new AbortController();
    const queued = new AbortController();
    const a = model.run({}, [], running.signal).catch((e: unknown) => e);
    const b = model.run({}, [], queued.signal).catch((e: unknown) => e);
    queued.abort();
    running.abort();
    expect(kindOf(await b)).toBe("canceled");
    expect(kindOf(await a)).toBe("canceled");
    expect(model.pending).toBe(1);
    open();
    await tick();
    expect(counts.runs).toBe(1);
    expect(model.pending).toBe(0);
  });

  it("dispose refuses new runs, waits for runs in flight, then releases the session", async () => {
    const { session, counts, open } = gatedSession();
    const model = new InlineModel(session, { mode: "inline", reason: "test", concurrentRuns: 1 });
    const inFlight = model.run({});
    const queued = model.run({});
    let disposed = false;
    const disposing = model.dispose().then(() => {
      disposed = true;
    });
    expect(kindOf(await model.run({}).catch((e) => e))).toBe("unavailable");
    await tick();
    expect([disposed, counts.released]).toEqual([false, 0]);
    open();
    await inFlight;
    await tick();
    expect([disposed, counts.released]).toEqual([false, 0]);
    open();
    await Promise.all([queued, disposing]);
    expect([disposed, counts.released]).toEqual([true, 1]);
    expect(model.dispose()).toBe(model.dispose());
  });
});

describe("inline model behind the batcher (batching off)", () => {
  it("takes one abort listener per request, answers aborts at once, and never runs an aborted queued job", async () => {
    const { session, counts, open } = gatedSession();
    const model = new InlineModel(session, { mode: "inline", reason: "test", concurrentRuns: 1 });
    // Two batcher slots over one run slot: the second request waits in the model's queue.
    const batcher = createDynamicBatcher(model, { maxBatchSize: 0, instanceCount: 2 });
    const running = new AbortController();
    const queued = new AbortController();
    const added = [running, queued].map((c) => vi.spyOn(c.signal, "addEventListener"));
    const removed = [running, queued].map((c) => vi.spyOn(c.signal, "removeEventListener"));
    const a = batcher.run({}, [], running.signal).catch((e: unknown) => e);
    const b = batcher.run({}, [], queued.signal).catch((e: unknown) => e);
    await tick();
    expect(counts.runs).toBe(1);
    expect(model.pending).toBe(2);
    queued.abort();
    expect(kindOf(await b)).toBe("canceled");
    running.abort();
    expect(kindOf(await a)).toBe("canceled");
    open();
    await tick();
    expect(counts.runs).toBe(1);
    expect(model.pending).toBe(0);
    for (const spy of [...added, ...removed]) expect(spy).toHaveBeenCalledTimes(1);
    await batcher.dispose();
    expect(counts.released).toBe(1);
  });
});
