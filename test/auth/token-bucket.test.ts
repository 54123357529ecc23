import { describe, expect, it } from "vitest";
import { createTokenBucket } from "../../src/auth/token-bucket.js";

function clock() {
  let t = 1000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("createTokenBucket", () => {
  it("allows a burst, then refills at the rate, never above the burst", () => {
    const c = clock();
    const bucket = createTokenBucket({ ratePerSecond: 2, burst: 3, now: c.now });
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([0, 0, 0]);
    expect(bucket.take()).toBe(500);
    c.advance(499);
    expect(bucket.take()).toBe(1);
    c.advance(1);
    expect(bucket.take()).toBe(0);
    c.advance(60_000);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([0, 0, 0, 500]);
  });

  it("charges work done after the fact into debt, which waiting pays back", () => {
    const c = clock();
    const bucket = createTokenBucket({ ratePerSecond: 10, burst: 10, now: c.now });
    bucket.charge(30); // level -20
    expect(bucket.waitMs()).toBe(2100);
    c.advance(2000);
    expect(bucket.waitMs()).toBe(100);
    c.advance(100);
    expect(bucket.waitMs()).toBe(0);
    expect(bucket.take()).toBe(0);
  });

  it("makes a request larger than the burst wait for a full bucket, not forever", () => {
    const c = clock();
    const bucket = createTokenBucket({ ratePerSecond: 1, burst: 2, now: c.now });
    expect(bucket.take(5)).toBe(0);
    expect(bucket.take(1)).toBe(4000);
  });

  it("refuses a rate or burst that is not positive", () => {
    expect(() => createTokenBucket({ ratePerSecond: 0, burst: 1 })).toThrow(/positive/);
    expect(() => createTokenBucket({ ratePerSecond: 1, burst: Number.NaN })).toThrow(/positive/);
  });
});
