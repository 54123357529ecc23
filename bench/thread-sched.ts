import { readdir, readFile } from "node:fs/promises";

/** One thread's scheduler counters from /proc (Linux): cumulative since it started. */
export interface ThreadSched {
  readonly name: string;
  /** Time on a core and time runnable but waiting for one (schedstat fields 1 and 2), ms. */
  readonly runMs: number;
  readonly waitMs: number;
  /** Times the scheduler took the core away while the thread could still run. */
  readonly involuntary: number;
}

/**
 * Every thread of `pid` by thread id; empty where /proc is missing (not Linux). Why:
 * an event-loop delay is either JavaScript work on the main thread (its run time) or
 * the main thread waiting for a core (its wait time, involuntary switches).
 */
export async function readThreadSched(pid: number): Promise<Map<number, ThreadSched>> {
  const out = new Map<number, ThreadSched>();
  const tids = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  for (const tid of tids) {
    const dir = `/proc/${pid}/task/${tid}`;
    try {
      const [schedstat, status, comm] = await Promise.all(
        ["schedstat", "status", "comm"].map((f) => readFile(`${dir}/${f}`, "utf8")),
      );
      const [run = 0, wait = 0] = (schedstat ?? "").split(" ").map(Number);
      const involuntary = Number(/nonvoluntary_ctxt_switches:\s*(\d+)/.exec(status ?? "")?.[1]);
      out.set(Number(tid), {
        name: (comm ?? "").trim(),
        runMs: run / 1e6,
        waitMs: wait / 1e6,
        involuntary,
      });
    } catch {
      // The thread ended between readdir and read.
    }
  }
  return out;
}

/** `after` less `before` per thread (threads started in between count from zero). */
export function schedDelta(
  before: Map<number, ThreadSched>,
  after: Map<number, ThreadSched>,
): Map<number, ThreadSched> {
  const out = new Map<number, ThreadSched>();
  for (const [tid, a] of after) {
    const b = before.get(tid);
    out.set(tid, {
      name: a.name,
      runMs: a.runMs - (b?.runMs ?? 0),
      waitMs: a.waitMs - (b?.waitMs ?? 0),
      involuntary: a.involuntary - (b?.involuntary ?? 0),
    });
  }
  return out;
}

/**
 * One line: the main thread (`pid` itself) first, then the three busiest other threads
 * (workers, onnxruntime's pool threads), "name run/wait ms, involuntary switches".
 */
export function formatThreads(threads: ReadonlyMap<number, ThreadSched>, pid: number): string {
  const main = threads.get(pid);
  const others = [...threads]
    .filter(([tid]) => tid !== pid)
    .map(([tid, t]) => ({ ...t, name: `${t.name}:${tid}` }))
    .sort((a, b) => b.runMs - a.runMs)
    .slice(0, 3);
  const one = (t: ThreadSched) =>
    `${t.name} ${t.runMs.toFixed(0)}/${t.waitMs.toFixed(0)} ms ${t.involuntary} inv`;
  const all = main ? [{ ...main, name: "main" }, ...others] : others;
  return `threads (run/wait): ${all.map(one).join(", ")}`;
}
