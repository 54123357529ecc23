/**
 * `npx tsx bench/gc-per-call.ts [seconds] [sets] [rounds]` (default 8, none/16/32/64 MiB
 * semi-spaces, 2): the main thread's GC count and time per 10k unary gRPC Predicts
 * (mlp_small, batching on, c=64) for each set, one server per set and round, counted by
 * a perf_hooks preload between two SIGUSR2 (after a 3 s warm-up). A set is
 * "node flags | inferd flags", sets ";"-separated: `";| --log-level warn"` compares the
 * defaults with the access log off. GC times are wall times (inflated on a loaded
 * machine); the counts and the new space's size are exact. Why: to read what semi-space
 * sizing or an allocation cut buys in GC directly, not out of a noisy CPU total.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBenchRepository } from "./bench-repository.js";
import { runH2load } from "./h2load-run.js";
import { startServerProcess } from "./server-process.js";

const [
  seconds = "8",
  sets = ";--max-semi-space-size=16;--max-semi-space-size=32;--max-semi-space-size=64",
  rounds = "2",
] = process.argv.slice(2);
const repo = await createBenchRepository({
  maxBatchSize: 64,
  classifierDelayUs: 500,
  heavyDelayUs: 2000,
  instanceCount: 1,
  // GC_MODEL=heavy_batch (or heavy_nobatch) measures mlp_heavy instead.
  families: [process.env.GC_MODEL?.startsWith("heavy") ? "heavy" : "small"],
});
const model = repo.models.find((m) => m.name === (process.env.GC_MODEL ?? "small_batch"));
if (!model) throw new Error("no model");
for (let round = 0; round < Number(rounds); round++) {
  for (const set of sets.split(";")) {
    const out = join(tmpdir(), `inferd-gc-${process.pid}.json`);
    rmSync(out, { force: true });
    process.env.GC_METER_OUT = out;
    // "node flags | inferd flags", e.g. "--max-semi-space-size=32" or "| --log-level warn".
    const [flags = "", args = ""] = set.split("|");
    const server = await startServerProcess({
      modelRepository: repo.dir,
      nodeFlags: [
        ...flags.split(" ").filter(Boolean),
        "--import",
        "./dist/bench/gc-meter-preload.js",
      ],
      extraArgs: args.split(" ").filter(Boolean),
    });
    const options = {
      target: `127.0.0.1:${server.port}`,
      model,
      concurrency: 64,
      channels: 4,
      warmupMs: 0,
    };
    await runH2load({ ...options, durationMs: 3000 });
    process.kill(server.pid, "SIGUSR2");
    const load = await runH2load({ ...options, durationMs: Number(seconds) * 1000 });
    process.kill(server.pid, "SIGUSR2");
    while (!existsSync(out)) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 200));
    await server.stop();
    const { counts, spacesKiB } = JSON.parse(readFileSync(out, "utf8")) as {
      counts: Record<string, { count: number; ms: number }>;
      spacesKiB: Record<string, number>;
    };
    const per10k = (n: number) => ((n * 10_000) / load.calls).toFixed(1);
    const cells = Object.entries(counts)
      .map(
        ([k, c]) =>
          `${k} ${per10k(c.count)} x, ${per10k(c.ms)} ms (${((1000 * c.ms) / load.calls).toFixed(2)} µs/call)`,
      )
      .join("; ");
    console.log(
      `[${set || "default"}] ${load.calls} calls ${load.callsPerSecond.toFixed(0)}/s new_space ${spacesKiB.new_space} KiB | per 10k: ${cells}`,
    );
  }
}
await repo.remove();
