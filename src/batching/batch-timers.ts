/** The batcher's two timers; each wakes the scheduler at one absolute time. */
export interface BatchTimers {
  /**
   * Wake when the oldest waiting group's queue delay runs out, a `performance.now()`
   * time (Infinity: disarm). Kept to a fraction of a millisecond: `max_queue_delay_us`
   * is often below the 1 ms that `setTimeout` can resolve.
   */
  armDelay(at: number): void;
  /** Wake when the nearest queued deadline passes, epoch ms (Infinity: disarm). */
  armDeadline(at: number): void;
  clear(): void;
}

/**
 * How close to its target a timer stops sleeping in `setTimeout` (which fires up to
 * ~1 ms late) and checks on every event-loop turn instead (`setImmediate`, which
 * lets I/O in between, so queued requests keep arriving).
 */
const FINE_MS = 1.5;

/**
 * Creates the two timers behind the batcher: at most one pending wake-up each,
 * re-armed only when the target time changes.
 */
export function createBatchTimers(onFire: () => void): BatchTimers {
  const delay = createTimer(onFire, () => performance.now());
  const deadline = createTimer(onFire, Date.now);
  return {
    armDelay: delay.arm,
    armDeadline: deadline.arm,
    clear() {
      delay.arm(Number.POSITIVE_INFINITY);
      deadline.arm(Number.POSITIVE_INFINITY);
    },
  };
}

function createTimer(onFire: () => void, now: () => number) {
  let timeout: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let target = Number.POSITIVE_INFINITY;
  const cancel = () => {
    clearTimeout(timeout);
    clearImmediate(immediate);
    timeout = undefined;
    immediate = undefined;
  };
  const wait = () => {
    cancel();
    const left = target - now();
    if (left <= 0) {
      target = Number.POSITIVE_INFINITY;
      onFire();
    } else if (left > FINE_MS) {
      timeout = setTimeout(wait, left - FINE_MS);
    } else {
      immediate = setImmediate(wait);
    }
  };
  return {
    arm(at: number): void {
      // Disarmed stays disarmed without touching a timer (every pump of a lone request).
      if (
        at === target &&
        (!Number.isFinite(at) || timeout !== undefined || immediate !== undefined)
      )
        return;
      cancel();
      target = at;
      if (Number.isFinite(at)) wait();
    },
  };
}
