import parsePrometheusTextFormat, {
  type PrometheusFamily,
  type PrometheusSample,
} from "parse-prometheus-text-format";

/** Which number of a sample to read: a counter's or gauge's value, a histogram's count or sum. */
export type SampleField = "value" | "count" | "sum";

/** A parsed /metrics page. */
export interface Scrape {
  readonly families: readonly PrometheusFamily[];
  /**
   * Sum of `field` over the family's samples whose labels include `labels`
   * (0 when none match), so `{model: "iris"}` adds up every version and code.
   */
  total(name: string, labels?: Readonly<Record<string, string>>, field?: SampleField): number;
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^[+-]?Inf$|^NaN$/;

function toNumber(text: string | undefined, where: string): number {
  if (text === undefined || !NUMBER.test(text)) throw new Error(`${where}: not a number: ${text}`);
  return text.endsWith("Inf") ? (text.startsWith("-") ? -Infinity : Infinity) : Number(text);
}

function checkFamily(family: PrometheusFamily): void {
  for (const sample of family.metrics) {
    const numbers = [
      sample.value,
      sample.count,
      sample.sum,
      ...Object.values(sample.buckets ?? {}),
    ];
    for (const n of numbers) if (n !== undefined) toNumber(n, family.name);
  }
}

function matches(sample: PrometheusSample, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(labels).every(([k, v]) => sample.labels?.[k] === v);
}

/**
 * Parses Prometheus text exposition with an independent parser (a malformed line
 * throws), checks every value is a number and no family appears twice.
 */
export function parseMetrics(text: string): Scrape {
  const families = parsePrometheusTextFormat(text);
  const names = families.map((f) => f.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) throw new Error(`metric family ${duplicate} appears twice`);
  families.forEach(checkFamily);
  return {
    families,
    total(name, labels = {}, field = "value") {
      const family = families.find((f) => f.name === name);
      return (family?.metrics ?? [])
        .filter((s) => matches(s, labels))
        .reduce((sum, s) => sum + toNumber(s[field], name), 0);
    },
  };
}

/** GET `<baseUrl>/metrics`, parsed; throws unless it answered 200 with the text format. */
export async function scrapeMetrics(baseUrl: string): Promise<Scrape> {
  const res = await fetch(`${baseUrl}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${text}`);
  const type = res.headers.get("content-type") ?? "";
  if (!type.startsWith("text/plain")) throw new Error(`/metrics content-type is ${type}`);
  return parseMetrics(text);
}
