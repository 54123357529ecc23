import { readlinkSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import { isMainThread } from "node:worker_threads";

/** What {@link lowerThreadPriority} did, for the load log. */
export interface ThreadPriorityChange {
  /** The thread's nice value after the call (the process's own when nothing changed). */
  readonly nice: number;
  /** Set when nothing changed: why (main thread, not Linux, refused). */
  readonly skipped?: string;
}

/**
 * Runs the calling worker thread, and every thread it starts from now on, `by` nice
 * levels below the process's own priority (Linux: `setpriority` on the thread's id,
 * capped at 19). onnxruntime's intra-op threads are started by the thread that creates
 * the session and inherit its nice value, so a worker that calls this before creating
 * its session computes at a lower priority than the event loop. Why: on a machine whose
 * cores are all busy, the event loop (requests, probes, metrics) otherwise waits on the
 * runqueue behind onnxruntime's threads; it now preempts them. Nothing changes while
 * the cores are not contended. Idempotent (relative to the process, not cumulative);
 * never lowers the main thread; anywhere it cannot apply it does nothing and says why.
 */
export function lowerThreadPriority(by: number): ThreadPriorityChange {
  const base = getPriority(process.pid);
  if (by <= 0) return { nice: base, skipped: "no change asked" };
  if (isMainThread) return { nice: base, skipped: "the main thread keeps its priority" };
  let tid: number;
  try {
    // "<pid>/task/<tid>": Node has no gettid(), and a thread's nice is set by its id.
    tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
  } catch {
    return { nice: base, skipped: "thread priorities need Linux's /proc/thread-self" };
  }
  const nice = Math.min(19, base + by);
  try {
    setPriority(tid, nice);
  } catch (error) {
    return { nice: base, skipped: `setpriority refused: ${String(error)}` };
  }
  return { nice };
}
