/** Options of {@link createTokenBucket}. */
export interface TokenBucketOptions {
  /** Tokens added per second. */
  readonly ratePerSecond: number;
  /** Capacity, and the starting level: how much may be spent at once after a pause. */
  readonly burst: number;
  /** Milliseconds, monotonic; injected so tests control time. Default: `performance.now`. */
  readonly now?: () => number;
}

/**
 * A token bucket: it fills at `ratePerSecond` up to `burst`. `take` spends before the
 * work (a request), `charge` after it (tokens that were generated), so the level may
 * go below zero: the debt is paid back by waiting, and nothing is taken meanwhile.
 */
export interface TokenBucket {
  /** Takes `n` tokens if the level allows it: 0 then, else the milliseconds until it would. */
  take(n?: number): number;
  /** Spends `n` tokens however low the level is (work already done). */
  charge(n: number): void;
  /** Milliseconds until the level is at least `n` (0 when it is now), taking nothing. */
  waitMs(n?: number): number;
}

/** Creates a full {@link TokenBucket}. @throws Error for a rate or burst that is not positive. */
export function createTokenBucket(options: TokenBucketOptions): TokenBucket {
  const { ratePerSecond, burst } = options;
  if (!(ratePerSecond > 0) || !(burst > 0)) {
    throw new Error(
      `a token bucket needs a positive rate and burst (got ${ratePerSecond}, ${burst})`,
    );
  }
  const now = options.now ?? (() => performance.now());
  let level = burst;
  let at = now();
  const refill = () => {
    const t = now();
    level = Math.min(burst, level + ((t - at) / 1000) * ratePerSecond);
    at = t;
  };
  const waitMs = (n: number) => {
    refill();
    // A request larger than the burst waits for a full bucket, not forever.
    const need = Math.min(n, burst) - level;
    if (need <= 0) return 0;
    // Rounded to the microsecond first, so float noise does not add a millisecond.
    return Math.ceil(Math.round((need / ratePerSecond) * 1e6) / 1000);
  };
  return {
    take(n = 1) {
      const wait = waitMs(n);
      if (wait === 0) level -= n;
      return wait;
    },
    charge(n) {
      refill();
      level -= n;
    },
    waitMs: (n = 1) => waitMs(n),
  };
}
