import type { Gauge, LabelValues } from "prom-client";

/**
 * Keeps a prom-client gauge's latest values in plain numbers on the hot path and
 * writes them into the gauge when it is collected (its `collect` callback), so that
 * a `set` costs a Map lookup instead of prom-client's label validation and hashing
 * (Object.keys and a sort of the label names: ~0.9 KB of garbage per call at c=64
 * for the batching queue depth, set about once per call).
 *
 * Contract: `labels` is one object per series, kept by the caller (the tally keys
 * series by identity), and nothing else sets the gauge's series. The exposition is
 * then the one per-call `set` gives: series appear in the order they were first set,
 * with the last value set.
 */
export interface GaugeTally<L extends string> {
  /** Sets the series of `labels` to `value`. */
  set(labels: LabelValues<L>, value: number): void;
  /** Writes every series' latest value into `gauge`; its `collect`. */
  foldInto(gauge: Gauge<L>): void;
  /** Drops the series `matches` selects (an unloaded version's): the gauge's own are removed apart. */
  forget(matches: (labels: LabelValues<L>) => boolean): void;
}

/** A new, empty {@link GaugeTally}. */
export function createGaugeTally<L extends string>(): GaugeTally<L> {
  // Insertion order is first-set order: the order prom-client lists series in.
  const series = new Map<LabelValues<L>, number>();
  return {
    set(labels, value) {
      series.set(labels, value);
    },
    foldInto(gauge) {
      for (const [labels, value] of series) gauge.set(labels, value);
    },
    forget(matches) {
      for (const labels of series.keys()) if (matches(labels)) series.delete(labels);
    },
  };
}
