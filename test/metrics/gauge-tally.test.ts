import { Gauge, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createGaugeTally } from "../../src/metrics/gauge-tally.js";

describe("createGaugeTally", () => {
  it("exposes what per-call set exposes, series in first-set order, across scrapes", async () => {
    const tally = createGaugeTally<"model">();
    const stock = new Registry();
    const tallied = new Registry();
    const config = { name: "depth", help: "d.", labelNames: ["model" as const] };
    const plain = new Gauge({ ...config, registers: [stock] });
    new Gauge({
      ...config,
      registers: [tallied],
      collect() {
        tally.foldInto(this);
      },
    });
    const a = { model: "a" };
    const b = { model: "b" };
    const rounds: [typeof a, number][][] = [
      [
        [b, 3],
        [a, 1],
        [b, 7],
      ],
      [],
      [
        [a, 0],
        [a, 5],
        [b, 0],
      ],
    ];
    for (const round of rounds) {
      for (const [labels, value] of round) {
        plain.set(labels, value);
        tally.set(labels, value);
      }
      expect(await tallied.metrics()).toBe(await stock.metrics());
    }
    expect(await tallied.metrics()).toContain('depth{model="b"} 0\ndepth{model="a"} 5');
  });
});
