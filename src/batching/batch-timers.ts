/** The batcher's two timers; each wakes the scheduler at one absolute time. */
export interface BatchTimers {
  /** Wake when the oldest waiting group's queue delay runs out (Infinity: disarm). */
  armDelay(at: number): void;
  /** Wake when the nearest queued deadline passes (Infinity: disarm). */
  armDeadline(at: number): void;
  clear(): void;
}

/**
 * Creates the two timers behind the batcher: no polling, at most one pending
 * `setTimeout` each, re-armed only when the target time changes.
 */
export function createBatchTimers(onFire: () => void): BatchTimers {
  const delay = createTimer(onFire);
  const deadline = createTimer(onFire);
  return {
    armDelay: delay.arm,
    armDeadline: deadline.arm,
    clear() {
      delay.arm(Number.POSITIVE_INFINITY);
      deadline.arm(Number.POSITIVE_INFINITY);
    },
  };
}

function createTimer(onFire: () => void) {
  let handle: NodeJS.Timeout | undefined;
  let target = Number.POSITIVE_INFINITY;
  return {
    arm(at: number): void {
      if (at === target && handle !== undefined) return;
      if (handle !== undefined) clearTimeout(handle);
      handle = undefined;
      target = at;
      if (!Number.isFinite(at)) return;
      handle = setTimeout(
        () => {
          handle = undefined;
          target = Number.POSITIVE_INFINITY;
          onFire();
        },
        Math.max(0, at - Date.now()),
      );
    },
  };
}
