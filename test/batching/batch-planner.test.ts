import { describe, expect, it } from "vitest";
import { type BatchPolicy, planNextBatch } from "../../src/batching/batch-planner.js";

interface Item {
  readonly id: string;
  readonly rows: number;
  readonly groupKey: string | undefined;
  readonly enqueuedAt: number;
}

const item = (id: string, enqueuedAt: number, rows = 1, groupKey = "g"): Item => ({
  id,
  rows,
  groupKey,
  enqueuedAt,
});
/** A request that runs alone (no group key). */
const loner = (id: string, enqueuedAt: number): Item => ({
  id,
  rows: 1,
  groupKey: undefined,
  enqueuedAt,
});
const policy = (over: Partial<BatchPolicy>): BatchPolicy => ({
  maxBatchSize: 8,
  maxQueueDelayMs: 50,
  preferredBatchSizes: new Set(),
  queueDelay: "adaptive",
  ...over,
});
const ids = (plan: ReturnType<typeof planNextBatch<Item>>) =>
  plan.kind === "dispatch" ? plan.members.map((m) => m.id) : plan;

describe("planNextBatch: adaptive", () => {
  it("dispatches a lone request at once, however long the delay", () => {
    expect(ids(planNextBatch([item("a", 100)], 100, policy({})))).toEqual(["a"]);
  });

  it("dispatches everything queued of the first group that fits, without waiting for a preferred size", () => {
    const queue = [item("a", 0, 3), item("b", 1), item("c", 2, 5), item("d", 3, 2), item("e", 4)];
    const p = policy({ preferredBatchSizes: new Set([4]) });
    // a+b+d+e = 7 rows; c (5) no longer fits beside a and b.
    expect(ids(planNextBatch(queue, 5, p))).toEqual(["a", "b", "d", "e"]);
  });

  it("keeps the grouping rules: only the first group, an ungrouped request alone", () => {
    const queue = [item("a", 0, 1, "x"), item("b", 1, 1, "y"), item("c", 2, 1, "x")];
    expect(ids(planNextBatch(queue, 3, policy({})))).toEqual(["a", "c"]);
    const alone = [loner("u", 0), item("a", 1)];
    expect(ids(planNextBatch(alone, 2, policy({})))).toEqual(["u"]);
  });
});

describe("planNextBatch: fixed (Triton's)", () => {
  const fixed = policy({ queueDelay: "fixed" });

  it("holds a lone request until its delay runs out, then dispatches it", () => {
    expect(planNextBatch([item("a", 100)], 100, fixed)).toEqual({ kind: "wait", until: 150 });
    expect(planNextBatch([item("a", 100)], 149.9, fixed)).toEqual({ kind: "wait", until: 150 });
    expect(ids(planNextBatch([item("a", 100)], 150, fixed))).toEqual(["a"]);
  });

  it("dispatches at once a full batch or a preferred size", () => {
    expect(ids(planNextBatch([item("a", 0, 8), item("b", 0)], 0, fixed))).toEqual(["a"]);
    const preferred = policy({ queueDelay: "fixed", preferredBatchSizes: new Set([2]) });
    const queue = [item("a", 0), item("b", 0), item("c", 0)];
    expect(ids(planNextBatch(queue, 0, preferred))).toEqual(["a", "b"]);
  });
});
