import { describe, expect, it } from "vitest";
import { createInferdMetrics } from "../../src/metrics/inferd-metrics.js";
import { recordRpcHandled } from "../../src/metrics/rpc-metrics.js";

/** One metric family of a text exposition: its TYPE, HELP and sample names. */
interface Family {
  type: string;
  help: string | undefined;
  labels: Set<string>;
}

function families(text: string): Map<string, Family> {
  const found = new Map<string, Family>();
  const family = (name: string) => {
    const f = found.get(name) ?? { type: "untyped", help: undefined, labels: new Set<string>() };
    found.set(name, f);
    return f;
  };
  for (const line of text.split("\n")) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta?.[1] === "HELP") family(meta[2] ?? "").help = meta[3];
    else if (meta?.[1] === "TYPE") family(meta[2] ?? "").type = meta[3] ?? "";
    else if (line !== "" && !line.startsWith("#")) {
      const labels = /\{(.*)\}/.exec(line)?.[1] ?? "";
      const name = line.split(/[{ ]/)[0] ?? "";
      const owner = [...found.keys()].find((f) => name === f || name.startsWith(`${f}_`));
      for (const pair of labels.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) {
        family(owner ?? name).labels.add(pair[1] ?? "");
      }
    }
  }
  return found;
}

/**
 * The checks of `promtool check metrics` (client_golang's promlint) that a name can
 * fail: counters end in `_total` and nothing else does, help text, snake_case names
 * and labels, base units, no `_count`/`_sum`/`_bucket` outside histograms and summaries.
 */
function lint(text: string): string[] {
  const problems: string[] = [];
  for (const [name, f] of families(text)) {
    if (f.type === "counter" && !name.endsWith("_total"))
      problems.push(`${name}: counter without _total`);
    if (f.type !== "counter" && name.endsWith("_total"))
      problems.push(`${name}: non-counter with _total`);
    if (!f.help) problems.push(`${name}: no help text`);
    if (/[A-Z]/.test(name)) problems.push(`${name}: not snake_case`);
    for (const label of f.labels) if (/[A-Z]/.test(label)) problems.push(`${name}: label ${label}`);
    if (/(milli|micro|nano)seconds|_minutes|_hours|_days|_ms$/.test(name)) {
      problems.push(`${name}: non-base unit`);
    }
    if (!["histogram", "summary"].includes(f.type) && /_(count|sum|bucket)$/.test(name)) {
      problems.push(`${name}: reserved suffix`);
    }
  }
  return problems;
}

describe("the /metrics exposition", () => {
  it("passes the checks of promtool check metrics, Node process metrics included", async () => {
    const metrics = createInferdMetrics();
    const labels = {
      grpc_service: "s",
      grpc_method: "m",
      grpc_type: "unary",
      protocol: "grpc",
    } as const;
    recordRpcHandled(metrics, labels, "ok", 0.01);
    const text = await metrics.registry.metrics();
    expect(families(text).get("inferd_nodejs_active_handles")?.type).toBe("gauge");
    expect(lint(text)).toEqual([]);
  });

  it("spells grpc_code as go-grpc-prometheus does, so that its dashboards work", async () => {
    const metrics = createInferdMetrics({ collectDefault: false });
    const labels = {
      grpc_service: "s",
      grpc_method: "m",
      grpc_type: "unary",
      protocol: "grpc",
    } as const;
    for (const code of [
      "ok",
      "invalid_argument",
      "deadline_exceeded",
      "canceled",
      "unauthenticated",
    ]) {
      recordRpcHandled(metrics, labels, code, 0.01);
    }
    const handled = await metrics.grpcHandled.get();
    expect(handled.values.map((v) => v.labels.grpc_code)).toEqual([
      "OK",
      "InvalidArgument",
      "DeadlineExceeded",
      "Canceled",
      "Unauthenticated",
    ]);
  });
});
