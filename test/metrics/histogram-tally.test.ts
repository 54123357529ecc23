import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createHistogramTally } from "../../src/metrics/histogram-tally.js";

const BUCKETS = [0.001, 0.01, 0.1, 1];

/** A histogram on its own registry, fed per call (stock) or through a tally. */
function histogramPair() {
  const tally = createHistogramTally<"m">(BUCKETS);
  const stock = new Registry();
  const tallied = new Registry();
  const config = { name: "h_seconds", help: "h.", labelNames: ["m" as const], buckets: BUCKETS };
  const plain = new Histogram({ ...config, registers: [stock] });
  new Histogram({
    ...config,
    registers: [tallied],
    collect() {
      tally.foldInto(this);
    },
  });
  return { tally, plain, stock, tallied };
}

describe("createHistogramTally", () => {
  it("exposes byte for byte what per-call observe exposes, across several scrapes", async () => {
    const { tally, plain, stock, tallied } = histogramPair();
    const a = { m: "a" };
    const b = { m: "b" };
    // A float sum that depends on its order, a value past the last bound, values on bounds.
    const rounds = [
      [
        [b, 0.1],
        [a, 0.0003],
        [b, 7],
        [a, 0.001],
      ],
      [
        [a, 0.30000000000000004],
        [a, 0.2],
        [b, 1],
      ],
      [],
    ] as const;
    for (const round of rounds) {
      for (const [labels, value] of round) {
        plain.observe(labels, value);
        tally.observe(labels, value);
      }
      const expected = await stock.metrics();
      expect(await tallied.metrics()).toBe(expected);
      expect(expected).toContain('h_seconds_count{m="b"}');
    }
  });

  it("refuses a value that is not a finite number, as prom-client does", () => {
    const { tally } = histogramPair();
    expect(() => tally.observe({ m: "a" }, Number.NaN)).toThrow(TypeError);
  });
});
