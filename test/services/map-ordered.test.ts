import { describe, expect, it } from "vitest";
import { mapOrdered } from "../../src/services/map-ordered.js";

async function* range(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) yield i;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("mapOrdered", () => {
  it("yields in source order although later items finish first", async () => {
    const out: number[] = [];
    for await (const v of mapOrdered(
      range(20),
      async (i) => {
        await sleep((20 - i) * 2);
        return i * 10;
      },
      8,
    )) {
      out.push(v);
    }
    expect(out).toEqual(Array.from({ length: 20 }, (_, i) => i * 10));
  });

  it("keeps at most `concurrency` calls in flight and reaches that bound", async () => {
    let inFlight = 0;
    let peak = 0;
    const out: number[] = [];
    for await (const v of mapOrdered(
      range(30),
      async (i) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await sleep(3);
        inFlight -= 1;
        return i;
      },
      4,
    )) {
      out.push(v);
    }
    expect(peak).toBe(4);
    expect(out).toHaveLength(30);
  });

  it("ends when the source ends with nothing pending", async () => {
    const out: number[] = [];
    for await (const v of mapOrdered(range(0), async (i) => i, 4)) out.push(v);
    expect(out).toEqual([]);
  });
});
