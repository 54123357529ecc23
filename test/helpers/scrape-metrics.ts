/** One sample line of the Prometheus text format. */
export interface PromSample {
  /** The sample's own name, e.g. `inferd_inference_batch_size_count`. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A parsed /metrics page. */
export interface Scrape {
  readonly samples: readonly PromSample[];
  /** `# TYPE` of each family. */
  readonly types: ReadonlyMap<string, string>;
  /** Sum of the samples named `name` whose labels include `labels` (0 when none match). */
  total(name: string, labels?: Readonly<Record<string, string>>): number;
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = `([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`;
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL},?)*)\\})? (\\S+)(?: -?\\d+)?$`);
const LABELS = new RegExp(LABEL, "g");
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const HELP = new RegExp(`^# HELP (${NAME})( .*)?$`);
/** Go's strconv.ParseFloat, which Prometheus uses: decimals, Inf/NaN in any case. */
const VALUE = /^[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf(inity)?|nan)$/i;
const SUFFIXES: Record<string, string[]> = {
  histogram: ["_bucket", "_sum", "_count"],
  summary: ["_sum", "_count"],
};

function parseValue(text: string, line: string): number {
  if (!VALUE.test(text)) throw new Error(`not a number in: ${line}`);
  if (/nan$/i.test(text)) return Number.NaN;
  if (/inf(inity)?$/i.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
  return Number(text);
}

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
}

/** The family a sample name belongs to, given the families typed so far. */
function familyOf(name: string, types: ReadonlyMap<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const [family, type] of types) {
    if ((SUFFIXES[type] ?? []).some((s) => name === family + s)) return family;
  }
  return undefined;
}

/**
 * A strict parser of the text exposition format (0.0.4): every line must be a
 * HELP, a TYPE (once per family, before its samples), a comment, blank, or a sample
 * of a typed family with well-formed labels and a float value; histogram buckets
 * need `le`. Anything else throws, naming the line.
 */
export function parseMetrics(text: string): Scrape {
  const types = new Map<string, string>();
  const samples: PromSample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || (line.startsWith("#") && !/^# (TYPE|HELP) /.test(line))) continue;
    const type = TYPE.exec(line);
    if (type?.[1] !== undefined && type[2] !== undefined) {
      if (types.has(type[1])) throw new Error(`second TYPE for ${type[1]}`);
      types.set(type[1], type[2]);
      continue;
    }
    if (HELP.test(line)) continue;
    const m = SAMPLE.exec(line);
    if (!m?.[1] || m[5] === undefined) throw new Error(`malformed line: ${line}`);
    const family = familyOf(m[1], types);
    if (family === undefined) throw new Error(`sample of an untyped family: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(LABELS)) labels[k ?? ""] = unescapeLabel(v ?? "");
    if (m[1].endsWith("_bucket") && labels.le === undefined) throw new Error(`no le: ${line}`);
    samples.push({ name: m[1], labels, value: parseValue(m[5], line) });
  }
  return {
    samples,
    types,
    total(name, labels = {}) {
      return samples
        .filter((s) => s.name === name)
        .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0);
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
