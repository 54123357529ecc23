import type { Histogram, LabelValues } from "prom-client";

/**
 * Observes a prom-client histogram's values into plain numbers on the hot path and
 * writes them into the histogram when it is collected (its `collect` callback): a
 * call costs a Map lookup and a bucket search instead of prom-client's per-call
 * closure, label validation and hashing.
 *
 * Contract: `labels` is one object per series, kept by the caller (series are keyed
 * by identity), `buckets` are the histogram's, and nothing else observes the
 * histogram's series. The exposition is then byte for byte the one per-call
 * `observe` gives: the same first-observed series order, the same bucket counts and
 * count, and the sum added in the same order from 0 (so the same float).
 */
export interface HistogramTally<L extends string> {
  /** Observes `value` for the series of `labels`. */
  observe(labels: LabelValues<L>, value: number): void;
  /** Writes the series' totals into `histogram`; its `collect`. */
  foldInto(histogram: Histogram<L>): void;
  /** Drops the series `matches` selects (an unloaded version's): the histogram's own are removed apart. */
  forget(matches: (labels: LabelValues<L>) => boolean): void;
}

interface Series<L extends string> {
  readonly labels: LabelValues<L>;
  /** Per bucket (not cumulative), as prom-client keeps them. */
  readonly counts: number[];
  sum: number;
  count: number;
  /** prom-client's record of this series, once folded. */
  entry: PromEntry | undefined;
}

/**
 * prom-client 15's record of one histogram series (lib/histogram.js
 * `createBaseValues`): the one place that reads prom-client's internals, because its
 * API has no way to add a tally without replaying every value.
 */
interface PromEntry {
  readonly labels: object;
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}

/** A new, empty {@link HistogramTally} for a histogram with these upper bounds. */
export function createHistogramTally<L extends string>(
  buckets: readonly number[],
): HistogramTally<L> {
  const bounds = [...buckets].sort((a, b) => a - b);
  const series = new Map<LabelValues<L>, Series<L>>();
  return {
    observe(labels, value) {
      if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
      let s = series.get(labels);
      if (s === undefined) {
        s = { labels, counts: bounds.map(() => 0), sum: 0, count: 0, entry: undefined };
        series.set(labels, s);
      }
      s.sum += value;
      s.count += 1;
      // As prom-client's findBound: the first bound >= value; none past the last.
      for (let i = 0; i < bounds.length; i++) {
        if (value <= (bounds[i] as number)) {
          (s.counts[i] as number)++;
          break;
        }
      }
    },
    foldInto(histogram) {
      const entries = (histogram as unknown as { hashMap: Record<string, PromEntry> }).hashMap;
      for (const s of series.values()) {
        if (s.entry === undefined || !Object.values(entries).includes(s.entry)) {
          histogram.zero(s.labels);
          s.entry = Object.values(entries).find((e) => e.labels === s.labels);
          if (s.entry === undefined) throw new Error("prom-client histogram internals changed");
        }
        for (let i = 0; i < bounds.length; i++) {
          s.entry.bucketValues[bounds[i] as number] = s.counts[i] as number;
        }
        s.entry.sum = s.sum;
        s.entry.count = s.count;
      }
    },
    forget(matches) {
      for (const labels of series.keys()) if (matches(labels)) series.delete(labels);
    },
  };
}
