/** Types for parse-prometheus-text-format 1.x (the package ships none); prom2json's shape. */
declare module "parse-prometheus-text-format" {
  /** One sample: counters, gauges and untyped metrics carry `value`, histograms the rest. */
  export interface PrometheusSample {
    readonly labels?: Readonly<Record<string, string>>;
    readonly value?: string;
    readonly count?: string;
    readonly sum?: string;
    /** Histogram buckets keyed by their `le` bound. */
    readonly buckets?: Readonly<Record<string, string>>;
    readonly quantiles?: Readonly<Record<string, string>>;
    readonly timestamp_ms?: string;
  }

  export interface PrometheusFamily {
    readonly name: string;
    readonly help: string;
    readonly type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
    readonly metrics: readonly PrometheusSample[];
  }

  /** Parses the text exposition format; throws InvalidLineError on a malformed line. */
  export default function parsePrometheusTextFormat(text: string): PrometheusFamily[];
}
