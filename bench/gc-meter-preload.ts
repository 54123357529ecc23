/**
 * Preloaded into a bench server (`--import dist/bench/gc-meter-preload.js`): the first
 * SIGUSR2 starts counting the main thread's GCs by kind (count and ms, from perf_hooks),
 * the next writes the counts and the V8 heap spaces' sizes (KiB) to `$GC_METER_OUT`.
 * See `bench/gc-per-call.ts`.
 */
import { writeFileSync } from "node:fs";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics } from "node:v8";

const KINDS = new Map<number, string>([
  [constants.NODE_PERFORMANCE_GC_MINOR, "scavenge"],
  [constants.NODE_PERFORMANCE_GC_MAJOR, "mark-compact"],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, "incremental"],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, "weak-callbacks"],
]);
let counts: Record<string, { count: number; ms: number }> | undefined;
new PerformanceObserver((list) => {
  if (counts === undefined) return;
  for (const entry of list.getEntries()) {
    const kind = (entry as { detail?: { kind?: number } }).detail?.kind ?? -1;
    const name = KINDS.get(kind) ?? String(kind);
    counts[name] ??= { count: 0, ms: 0 };
    counts[name].count++;
    counts[name].ms += entry.duration;
  }
}).observe({ entryTypes: ["gc"] });
process.on("SIGUSR2", () => {
  if (counts === undefined) {
    counts = {};
    return;
  }
  const spaces = getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size >> 10]);
  writeFileSync(
    process.env.GC_METER_OUT ?? "gc-meter.json",
    JSON.stringify({ counts, spacesKiB: Object.fromEntries(spaces) }),
  );
});
