import { describe, expect, it } from "vitest";
import { InferdError } from "../../src/errors/inferd-error.js";
import { createPredictor, type PredictCall } from "../../src/inference/predictor.js";
import { createAffineModel } from "../helpers/fake-model.js";
import { createFakeRegistry } from "../helpers/fake-registry.js";

const call: PredictCall = {
  model: "m",
  inputs: { x: { dims: [1, 4], values: { kind: "float", data: [1, 2, 3, 4] } } },
};

async function errorOf(promise: Promise<unknown>): Promise<InferdError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InferdError);
  return error as InferdError;
}

describe("createPredictor", () => {
  it("applies the model's timeout when the caller has no deadline", async () => {
    const model = createAffineModel();
    model.gate = new Promise(() => {});
    const registry = createFakeRegistry([
      { name: "m", version: 1, servable: model, config: { timeoutMs: 30 } },
    ]);
    const started = Date.now();
    const error = await errorOf(
      createPredictor({ registry }).predict(call, new AbortController().signal),
    );
    expect(error.kind).toBe("deadline_exceeded");
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(model.runs[0]?.options?.deadline).toBeGreaterThan(started);
    expect(registry.held()).toBe(0);
  });

  it("uses defaultTimeoutMs when the model sets none", async () => {
    const model = createAffineModel();
    model.gate = new Promise(() => {});
    const registry = createFakeRegistry([{ name: "m", version: 1, servable: model }]);
    const predictor = createPredictor({ registry, defaultTimeoutMs: 20 });
    expect((await errorOf(predictor.predict(call, new AbortController().signal))).kind).toBe(
      "deadline_exceeded",
    );
  });

  it("lets the caller's own deadline override the model's timeout", async () => {
    const model = createAffineModel();
    let open!: () => void;
    model.gate = new Promise((r) => {
      open = r;
    });
    const registry = createFakeRegistry([
      { name: "m", version: 1, servable: model, config: { timeoutMs: 10 } },
    ]);
    const pending = createPredictor({ registry }).predict(
      { ...call, timeoutMs: 5000 },
      new AbortController().signal,
    );
    await new Promise((r) => setTimeout(r, 40));
    open();
    const result = await pending;
    expect(Array.from(result.outputs.y?.data as Float32Array)).toEqual([3, 5, 7, 9]);
  });

  it("reports a caller abort as canceled and releases the lease", async () => {
    const model = createAffineModel();
    model.gate = new Promise(() => {});
    const registry = createFakeRegistry([{ name: "m", version: 2, servable: model }]);
    const controller = new AbortController();
    const pending = createPredictor({ registry }).predict(call, controller.signal);
    setTimeout(() => controller.abort(), 10);
    expect((await errorOf(pending)).kind).toBe("canceled");
    expect(registry.held()).toBe(0);
  });

  it("does not score labels when no output matches their count", async () => {
    const model = createAffineModel();
    const registry = createFakeRegistry([
      { name: "m", version: 1, servable: model, config: { labels: ["a", "b"] } },
    ]);
    const result = await createPredictor({ registry }).predict(call, new AbortController().signal);
    expect(result.classifications).toEqual([]);
    expect(result.version).toBe(1);
  });

  it("scores the configured label_output even when not requested", async () => {
    const model = createAffineModel();
    const registry = createFakeRegistry([
      {
        name: "m",
        version: 1,
        servable: model,
        config: { labels: ["a", "b", "c"], labelOutput: "scores", topK: 1 },
      },
    ]);
    const result = await createPredictor({ registry }).predict(
      { ...call, outputs: ["sum"] },
      new AbortController().signal,
    );
    expect(Object.keys(result.outputs)).toEqual(["sum"]);
    expect(model.runs[0]?.outputNames).toEqual(["sum", "scores"]);
    expect(result.classifications).toEqual([{ top: [{ label: "c", index: 2, score: 3 }] }]);
  });
});
