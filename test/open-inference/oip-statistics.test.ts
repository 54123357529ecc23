import { describe, expect, it } from "vitest";
import { isInferdError } from "../../src/errors/inferd-error.js";
import { createPredictor } from "../../src/inference/predictor.js";
import { modelStatistics } from "../../src/open-inference/oip-statistics.js";
import { createAffineModel, createFakeModel } from "../helpers/fake-model.js";
import { createFakeRegistry } from "../helpers/fake-registry.js";

function setup() {
  const registry = createFakeRegistry([
    { name: "a", version: 1, servable: createFakeModel() },
    { name: "a", version: 2, servable: createFakeModel() },
    { name: "b", version: 1, servable: createAffineModel() },
    { name: "warming", version: 1, servable: createFakeModel(), state: "loading" },
  ]);
  return { registry, predictor: createPredictor({ registry }) };
}

function kindOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (isInferdError(error)) return error.kind;
    throw error;
  }
  return "ok";
}

const signal = new AbortController().signal;
const row = (...x: number[]) => ({
  dims: [1, x.length],
  values: { kind: "float" as const, data: x },
});
const ids = (stats: { name: string; version: string }[]) =>
  stats.map((s) => `${s.name}/${s.version}`);

describe("modelStatistics", () => {
  it("selects every loaded version, one model's, or one version", () => {
    const { registry } = setup();
    expect(ids(modelStatistics(registry, "", undefined))).toEqual(["a/1", "a/2", "b/1"]);
    expect(ids(modelStatistics(registry, "a", undefined))).toEqual(["a/1", "a/2"]);
    expect(ids(modelStatistics(registry, "a", 2))).toEqual(["a/2"]);
  });

  it("reports the predictor's successes and failures on the version that served them", async () => {
    const { registry, predictor } = setup();
    await predictor.predict({ model: "a", version: 2, inputs: { x: row(1) } }, signal);
    await predictor.predict({ model: "a", version: 2, inputs: { x: row(2) } }, signal);
    const wrongShape = { model: "a", version: 2, inputs: { x: row(1, 2, 3, 4, 5) } };
    await expect(predictor.predict(wrongShape, signal)).rejects.toThrow();
    const [a1, a2] = modelStatistics(registry, "a", undefined);
    expect([a2?.success.count, a2?.fail.count]).toEqual([2, 1]);
    expect(a2?.lastInference).toBeGreaterThan(0);
    expect([a1?.success.count, a1?.fail.count, a1?.lastInference]).toEqual([0, 0, 0]);
  });

  it("is not_found for an unknown model or version and for one not loaded", () => {
    const { registry } = setup();
    expect(kindOf(() => modelStatistics(registry, "nope", undefined))).toBe("not_found");
    expect(kindOf(() => modelStatistics(registry, "a", 7))).toBe("not_found");
    expect(kindOf(() => modelStatistics(registry, "warming", undefined))).toBe("not_found");
    expect(kindOf(() => modelStatistics(registry, "warming", 1))).toBe("not_found");
  });
});
