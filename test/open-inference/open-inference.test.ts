import { describe, expect, it } from "vitest";
import { isInferdError } from "../../src/errors/inferd-error.js";
import { createPredictor } from "../../src/inference/predictor.js";
import type { OipInferRequest } from "../../src/open-inference/oip-tensor.js";
import { createOpenInference } from "../../src/open-inference/open-inference.js";
import type { ModelConfig } from "../../src/registry/model-config.js";
import { createAffineModel } from "../helpers/fake-model.js";
import { createFakeRegistry } from "../helpers/fake-registry.js";

function setup() {
  const model = createAffineModel();
  const registry = createFakeRegistry([
    // The real registry's get() reports model.json's snake_case keys; the fake spreads this as is.
    {
      name: "affine",
      version: 3,
      servable: model,
      config: { priority_levels: 4 } as Partial<ModelConfig>,
    },
    {
      name: "iris",
      version: 1,
      servable: model,
      config: { labels: ["setosa", "versicolor", "virginica"] },
    },
    { name: "warming", version: 1, servable: model, state: "loading" },
  ]);
  const core = createOpenInference({ registry, predictor: createPredictor({ registry }) });
  return { core, model, registry };
}

const request = (init: Partial<OipInferRequest> = {}): OipInferRequest => ({
  model: "affine",
  version: "",
  id: "req-1",
  inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], contents: { fp32: [1, 2, 3, 4] } }],
  ...init,
});

async function kindOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isInferdError(error)) return error.kind;
    throw error;
  }
  return "ok";
}

const signal = new AbortController().signal;

describe("OpenInference.infer", () => {
  it("runs the Predict path and answers in the protocol's terms", async () => {
    const { core, registry } = setup();
    const result = await core.infer(request(), signal);
    expect(result).toMatchObject({ model: "affine", version: "3", id: "req-1", raw: false });
    expect(result.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([
      ["y", "FP32", [1, 4]],
      ["scores", "FP32", [1, 3]],
      ["sum", "INT64", [1]],
    ]);
    expect(Array.from(result.outputs[0]?.tensor.data as Float32Array)).toEqual([3, 5, 7, 9]);
    expect(registry.held()).toBe(0);
  });

  it("keeps the requested outputs in request order and answers raw when asked", async () => {
    const { core } = setup();
    const outputs = [{ name: "sum" }, { name: "y" }];
    const result = await core.infer(
      request({ outputs, parameters: { binary_data: true } }),
      signal,
    );
    expect(result.outputs.map((o) => o.name)).toEqual(["sum", "y"]);
    expect(result.raw).toBe(true);
  });

  it("returns classification outputs as BYTES score:index:label with the model's labels", async () => {
    const { core } = setup();
    const outputs = [{ name: "scores", parameters: { classification: 2n } }];
    const result = await core.infer(request({ model: "iris", outputs }), signal);
    expect(result.outputs[0]).toMatchObject({ datatype: "BYTES", shape: [1, 2] });
    expect(result.outputs[0]?.tensor.data).toEqual(["3:2:virginica", "2:1:versicolor"]);
  });

  it("maps Triton priority levels (1 most urgent) onto inferd's higher-first priority", async () => {
    const { core, model } = setup();
    await core.infer(request({ parameters: { priority: 1n } }), signal);
    await core.infer(request({ parameters: { priority: 4n } }), signal);
    expect(model.runs.map((r) => r.options?.priority)).toEqual([3, 0]);
  });

  it("fails with the domain kinds: unknown model or version, bad version, wrong datatype", async () => {
    const { core } = setup();
    expect(await kindOf(core.infer(request({ model: "nope" }), signal))).toBe("not_found");
    expect(await kindOf(core.infer(request({ version: "9" }), signal))).toBe("not_found");
    expect(await kindOf(core.infer(request({ version: "latest" }), signal))).toBe(
      "invalid_argument",
    );
    const fp64 = [{ name: "x", datatype: "FP64", shape: [1, 4], contents: { fp64: [1, 2, 3, 4] } }];
    expect(await kindOf(core.infer(request({ inputs: fp64 }), signal))).toBe("invalid_argument");
    expect(await kindOf(core.infer(request({ model: "warming" }), signal))).toBe("unavailable");
  });
});

describe("OpenInference metadata and repository", () => {
  it("describes a model with protocol datatypes and its ready versions", () => {
    const { core } = setup();
    const metadata = core.modelMetadata("affine", "");
    expect(metadata).toMatchObject({
      name: "affine",
      versions: ["3"],
      platform: "onnxruntime_onnx",
    });
    expect(metadata.inputs[0]).toEqual({ name: "x", datatype: "FP32", shape: [-1, 4] });
    expect(() => core.modelMetadata("affine", "4")).toThrow(/has no version 4; versions: 3/);
  });

  it("answers readiness per model and version", () => {
    const { core } = setup();
    expect([core.modelReady("affine", ""), core.modelReady("affine", "3")]).toEqual([true, true]);
    expect([core.modelReady("affine", "2"), core.modelReady("warming", "")]).toEqual([
      false,
      false,
    ]);
    expect(core.modelReady("nope", "")).toBe(false);
  });

  it("indexes every version with its state, or only the ready ones", () => {
    const { core } = setup();
    expect(core.repositoryIndex(false)).toEqual([
      { name: "affine", version: "3", state: "READY", reason: "" },
      { name: "iris", version: "1", state: "READY", reason: "" },
      { name: "warming", version: "1", state: "LOADING", reason: "" },
    ]);
    expect(core.repositoryIndex(true).map((m) => m.name)).toEqual(["affine", "iris"]);
  });
});
