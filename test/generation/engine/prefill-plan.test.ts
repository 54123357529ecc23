import { describe, expect, it } from "vitest";
import { planPrefillChunks } from "../../../src/generation/engine/prefill-plan.js";

describe("planPrefillChunks", () => {
  it("gives the oldest prompt the whole budget and no one else a padded row past it", () => {
    expect(planPrefillChunks([1000, 5], 512)).toEqual([512]);
    expect(planPrefillChunks([488, 5], 512)).toEqual([488]);
  });

  it("batches short prompts while rows × width stays within the budget", () => {
    expect(planPrefillChunks([20, 20, 20], 60)).toEqual([20, 20, 20]);
    expect(planPrefillChunks([20, 20, 20], 59)).toEqual([20, 20]);
    // A longer younger prompt widens the run while that fits, else takes the width's share.
    expect(planPrefillChunks([10, 30], 60)).toEqual([10, 30]);
    expect(planPrefillChunks([10, 30, 30], 60)).toEqual([10, 30]);
    expect(planPrefillChunks([20, 30, 5], 60)).toEqual([20, 30]);
    expect(planPrefillChunks([20, 30, 5], 50)).toEqual([20, 20]);
    expect(planPrefillChunks([20, 30, 5], 90)).toEqual([20, 30, 5]);
  });

  it("prefills every prompt whole in one run without a bound", () => {
    expect(planPrefillChunks([3, 700, 40], Number.POSITIVE_INFINITY)).toEqual([3, 700, 40]);
  });

  it("always moves the oldest prompt forward, even with a budget of one", () => {
    expect(planPrefillChunks([4, 4], 1)).toEqual([1]);
  });
});
