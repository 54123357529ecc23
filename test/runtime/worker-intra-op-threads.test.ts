import { describe, expect, it } from "vitest";
import {
  chooseWorkerIntraOpThreads,
  defaultWorkerIntraOpThreads,
} from "../../src/runtime/worker-intra-op-threads.js";

describe("defaultWorkerIntraOpThreads", () => {
  it("leaves one core to the event loop and shares the rest among the instances", () => {
    expect(defaultWorkerIntraOpThreads(2, 1)).toBe(1);
    expect(defaultWorkerIntraOpThreads(4, 1)).toBe(3);
    expect(defaultWorkerIntraOpThreads(8, 2)).toBe(3);
    expect(defaultWorkerIntraOpThreads(16, 3)).toBe(5);
  });

  it("gives every instance at least one thread", () => {
    expect(defaultWorkerIntraOpThreads(1, 1)).toBe(1);
    expect(defaultWorkerIntraOpThreads(2, 4)).toBe(1);
    expect(defaultWorkerIntraOpThreads(0, 0)).toBe(1);
  });
});

describe("chooseWorkerIntraOpThreads", () => {
  it("takes model.json's intra_op_threads over the default, 0 included", () => {
    expect(chooseWorkerIntraOpThreads(2, 2, 1, 64)).toEqual({
      intraOpThreads: 2,
      reason: "2 intra-op thread(s) per instance (model.json session.intra_op_threads)",
    });
    expect(chooseWorkerIntraOpThreads(0, 8, 1, 64)).toEqual({
      intraOpThreads: 0,
      reason: "onnxruntime's default intra-op threads (model.json session.intra_op_threads)",
    });
  });

  it("says which cores and instances the default came from", () => {
    expect(chooseWorkerIntraOpThreads(undefined, 2, 1, 64)).toEqual({
      intraOpThreads: 1,
      reason:
        "1 intra-op thread(s) per instance: 2 cores less 1 for the event loop while batches run",
    });
    expect(chooseWorkerIntraOpThreads(undefined, 8, 2, 32)).toEqual({
      intraOpThreads: 3,
      reason:
        "3 intra-op thread(s) per instance: 8 cores less 1 for the event loop while batches run, shared by 2 instances",
    });
  });

  it("keeps onnxruntime's default for a version that does not batch", () => {
    expect(chooseWorkerIntraOpThreads(undefined, 8, 1, 1)).toEqual({
      intraOpThreads: undefined,
      reason: "onnxruntime's default intra-op threads (no batching: one-row runs use every core)",
    });
    expect(chooseWorkerIntraOpThreads(3, 8, 1, 1).intraOpThreads).toBe(3);
  });
});
