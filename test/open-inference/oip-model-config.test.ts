import { describe, expect, it } from "vitest";
import { isInferdError } from "../../src/errors/inferd-error.js";
import { modelConfig } from "../../src/open-inference/oip-model-config.js";
import { createAffineModel, createFakeModel } from "../helpers/fake-model.js";
import { createFakeRegistry } from "../helpers/fake-registry.js";

const registry = createFakeRegistry([
  {
    name: "affine",
    version: 3,
    servable: createAffineModel(),
    config: {
      maxBatchSize: 16,
      maxQueueDelayUs: 250,
      preferredBatchSizes: [4, 8],
      priorityLevels: 3,
      timeoutMs: 1500,
      maxQueueSize: 100,
      instanceCount: 2,
      versionPolicy: "all",
      responseCache: { maxEntries: 10 },
    },
  },
  // Batching asked for, but no dynamic first dimension: the batcher passes requests through.
  {
    name: "fixed",
    version: 1,
    servable: createFakeModel({ batchDim: 2, width: 3 }),
    config: { maxBatchSize: 8, versionPolicy: { specific: [1, 4] } },
  },
  { name: "warming", version: 1, servable: createAffineModel(), state: "loading" },
]);

function kindOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (isInferdError(error)) return error.kind;
    throw error;
  }
  return "ok";
}

describe("modelConfig", () => {
  it("maps a batched model: batch dim dropped, dynamic batching, queue policy, instances", () => {
    expect(modelConfig(registry, "affine", undefined)).toEqual({
      name: "affine",
      platform: "onnxruntime_onnx",
      backend: "onnxruntime",
      versionPolicy: { kind: "all" },
      maxBatchSize: 16,
      input: [{ name: "x", dataType: "TYPE_FP32", dims: [4] }],
      output: [
        { name: "y", dataType: "TYPE_FP32", dims: [4] },
        { name: "scores", dataType: "TYPE_FP32", dims: [3] },
        { name: "sum", dataType: "TYPE_INT64", dims: [] },
      ],
      instanceGroup: [{ name: "affine", count: 2, kind: "KIND_CPU" }],
      dynamicBatching: {
        preferredBatchSize: [4, 8],
        maxQueueDelayMicroseconds: 250,
        priorityLevels: 3,
        defaultPriorityLevel: 3,
        defaultQueuePolicy: {
          timeoutAction: "REJECT",
          defaultTimeoutMicroseconds: 1_500_000,
          allowTimeoutOverride: true,
          maxQueueSize: 100,
        },
      },
      responseCache: { enable: true },
    });
  });

  it("maps an unbatchable model with max_batch_size 0, full dims and no dynamic batching", () => {
    expect(modelConfig(registry, "fixed", 1)).toEqual({
      name: "fixed",
      platform: "onnxruntime_onnx",
      backend: "onnxruntime",
      versionPolicy: { kind: "specific", versions: [1, 4] },
      maxBatchSize: 0,
      input: [{ name: "x", dataType: "TYPE_FP32", dims: [2, 3] }],
      output: [{ name: "y", dataType: "TYPE_FP32", dims: [2, 3] }],
      instanceGroup: [{ name: "fixed", count: 1, kind: "KIND_CPU" }],
      responseCache: { enable: false },
    });
  });

  it("is not_found for an unknown model or version, unavailable for one not ready", () => {
    expect(kindOf(() => modelConfig(registry, "nope", undefined))).toBe("not_found");
    expect(kindOf(() => modelConfig(registry, "affine", 9))).toBe("not_found");
    expect(kindOf(() => modelConfig(registry, "warming", undefined))).toBe("unavailable");
    expect(registry.held()).toBe(0);
  });
});
