import { Counter, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createCounterTally } from "../../src/metrics/counter-tally.js";

describe("createCounterTally", () => {
  it("exposes what per-call inc exposes, series in first-counted order, across scrapes", async () => {
    const tally = createCounterTally<"code">();
    const stock = new Registry();
    const tallied = new Registry();
    const config = { name: "c_total", help: "c.", labelNames: ["code" as const] };
    const plain = new Counter({ ...config, registers: [stock] });
    new Counter({
      ...config,
      registers: [tallied],
      collect() {
        tally.foldInto(this);
      },
    });
    const ok = { code: "OK" };
    const bad = { code: "Internal" };
    for (const round of [[bad, ok, ok], [], [ok, bad, bad, bad]]) {
      for (const labels of round) {
        plain.inc(labels);
        tally.inc(labels);
      }
      expect(await tallied.metrics()).toBe(await stock.metrics());
    }
    expect(await tallied.metrics()).toContain('c_total{code="Internal"} 4\nc_total{code="OK"} 3');
  });
});
