import { describe, expect, it } from "vitest";
import { slicedItems } from "../../src/services/sliced-items.js";

describe("slicedItems", () => {
  it("yields every item in order and lets a setImmediate in between each slice", async () => {
    const seen: string[] = [];
    let turns = 0;
    const tick = () => {
      turns++;
      if (turns < 100) setImmediate(tick);
    };
    setImmediate(tick);
    for await (const item of slicedItems([1, 2, 3, 4, 5, 6, 7], 3)) seen.push(`${item}@${turns}`);
    // Items 1-3 in the first turn, 4-6 after one more, 7 after another.
    expect(seen.map((s) => s.split("@")[0])).toEqual(["1", "2", "3", "4", "5", "6", "7"]);
    const turnOf = seen.map((s) => Number(s.split("@")[1]));
    expect(turnOf[0]).toBe(turnOf[2]);
    expect(turnOf[3]).toBeGreaterThan(turnOf[2] ?? 0);
    expect(turnOf[3]).toBe(turnOf[5]);
    expect(turnOf[6]).toBeGreaterThan(turnOf[5] ?? 0);
  });
});
