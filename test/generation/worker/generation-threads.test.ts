import { describe, expect, it } from "vitest";
import {
  chooseGenerationThreads,
  defaultGenerationThreads,
} from "../../../src/generation/worker/generation-threads.js";

describe("defaultGenerationThreads", () => {
  it("shares the cores evenly among the generative versions, rounding down", () => {
    expect(defaultGenerationThreads(2, 1)).toBe(2);
    expect(defaultGenerationThreads(8, 2)).toBe(4);
    expect(defaultGenerationThreads(8, 3)).toBe(2);
    expect(defaultGenerationThreads(16, 5)).toBe(3);
  });

  it("gives every version at least one thread and never more than the cores", () => {
    expect(defaultGenerationThreads(2, 3)).toBe(1);
    expect(defaultGenerationThreads(1, 1)).toBe(1);
    expect(defaultGenerationThreads(4, 0)).toBe(4);
    expect(defaultGenerationThreads(0, 1)).toBe(1);
  });
});

describe("chooseGenerationThreads", () => {
  it("takes model.json's intra_op_threads over the default, 0 included", () => {
    expect(chooseGenerationThreads(3, 8, 1)).toEqual({
      intraOpThreads: 3,
      reason: "model.json session.intra_op_threads",
    });
    expect(chooseGenerationThreads(0, 8, 1).intraOpThreads).toBe(0);
  });

  it("says which cores and versions the default came from", () => {
    expect(chooseGenerationThreads(undefined, 2, 1)).toEqual({
      intraOpThreads: 2,
      reason: "2 cores shared by 1 generative version",
    });
    expect(chooseGenerationThreads(undefined, 8, 3)).toEqual({
      intraOpThreads: 2,
      reason: "8 cores shared by 3 generative versions",
    });
  });
});
