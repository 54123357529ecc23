import { readFileSync } from "node:fs";

/** The main thread's own CPU time so far, ms, or undefined off Linux (no schedstat). */
export function mainThreadCpuMs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8");
    return Number(stat.split(" ")[0]) / 1e6;
  } catch {
    return undefined;
  }
}

/** What {@link watchLoopBlocks} measured. */
export interface LoopBlocks {
  /** The most CPU time the main thread spent between two turns of the loop, ms (NaN off Linux). */
  readonly longestCpuMs: number;
}

/**
 * Watches the event loop's blocks by the main thread's own CPU time, not wall time: a
 * 2 ms interval reads the thread's CPU counter, and the largest growth between two
 * ticks is the longest synchronous stretch (a callback, a GC pause the thread works in).
 * Why: on a shared 2-core machine at a load of 20 the thread gets a fifth of a core, so
 * a 15 ms block shows as a 100 ms loop delay (and a 60 ms one as 500 ms), whatever the
 * code does; CPU time tells the code's own blocking from waiting for a core. Returns the
 * stop, which gives the measure.
 */
export function watchLoopBlocks(): () => LoopBlocks {
  let last = mainThreadCpuMs() ?? Number.NaN;
  let longest = Number.isNaN(last) ? Number.NaN : 0;
  const tick = setInterval(() => {
    const now = mainThreadCpuMs() ?? Number.NaN;
    longest = Math.max(longest, now - last);
    last = now;
  }, 2);
  return () => {
    clearInterval(tick);
    return { longestCpuMs: longest };
  };
}
