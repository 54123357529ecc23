import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { createMetricsRoute, type MetricsRouteResponse } from "../../src/http/metrics-route.js";
import { createMetricsInterceptor } from "../../src/interceptors/metrics-interceptor.js";
import { createInferdMetrics } from "../../src/metrics/inferd-metrics.js";
import { recordModelState } from "../../src/metrics/model-metrics.js";
import { fakeRoutes } from "../interceptors/fake-services.js";

// Compile-time: Node's HTTP/1 and HTTP/2-compat responses fit the route.
const _http1: MetricsRouteResponse = {} as ServerResponse;
const _http2: MetricsRouteResponse = {} as Http2ServerResponse;

interface Captured {
  status: number;
  headers: Record<string, string>;
  body: string | undefined;
}

function scrape(route: ReturnType<typeof createMetricsRoute>, method: string, url: string) {
  return new Promise<Captured | false>((resolve) => {
    const out: Captured = { status: 0, headers: {}, body: undefined };
    const taken = route(
      { method, url },
      {
        writeHead(status, headers) {
          out.status = status;
          out.headers = headers;
        },
        end(body?: string) {
          out.body = body;
          resolve(out);
        },
      },
    );
    if (!taken) resolve(false);
  });
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const SAMPLE = new RegExp(
  `^(${NAME})(?:\\{(${LABEL}(?:,${LABEL})*)?\\})? (-?[0-9.e+-]+|[Nn]a[Nn]|[+-]Inf)$`,
);
// prom-client writes NaN as "Nan"; Prometheus parses values with Go's ParseFloat, which
// accepts any case of "nan".
const HELP = new RegExp(`^# HELP (${NAME}) .*$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

/** Parses Prometheus text format 0.0.4 into "name{labels}" -> value, failing on any bad line. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "" || HELP.test(line)) continue;
    const type = TYPE.exec(line);
    if (type) {
      typed.add(type[1] ?? "");
      continue;
    }
    const sample = SAMPLE.exec(line);
    if (!sample) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    const name = sample[1] ?? "";
    const family = name.replace(/_(bucket|sum|count)$/, "");
    if (!typed.has(name) && !typed.has(family))
      throw new Error(`sample before its # TYPE: ${line}`);
    samples.set(`${name}{${sample[2] ?? ""}}`, Number(sample[3]));
  }
  return samples;
}

describe("createMetricsRoute", () => {
  it("serves metrics that parse as Prometheus text with exact values after real calls", async () => {
    const metrics = createInferdMetrics({ collectDefault: true });
    const transport = createRouterTransport(fakeRoutes([createMetricsInterceptor(metrics)]));
    const client = createClient(InferenceService, transport);
    await client.predict({ model: "iris" });
    await expect(client.predict({ model: "bad" })).rejects.toThrow();
    recordModelState(metrics, "iris", 1, "ready");

    const res = await scrape(createMetricsRoute(metrics.registry), "GET", "/metrics?x=1");
    if (!res) throw new Error("route did not take /metrics");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    const samples = parse(res.body ?? "");
    const rpc =
      'grpc_service="inferd.v1.InferenceService",grpc_method="Predict",grpc_type="unary",protocol="connect"';
    expect(samples.get(`inferd_grpc_server_started_total{${rpc}}`)).toBe(2);
    expect(samples.get(`inferd_grpc_server_handled_total{${rpc},grpc_code="OK"}`)).toBe(1);
    expect(
      samples.get(`inferd_grpc_server_handled_total{${rpc},grpc_code="InvalidArgument"}`),
    ).toBe(1);
    expect(samples.get(`inferd_grpc_server_handling_seconds_count{${rpc}}`)).toBe(2);
    expect(samples.get(`inferd_grpc_server_handling_seconds_bucket{le="+Inf",${rpc}}`)).toBe(2);
    expect(samples.get('inferd_model_state{model="iris",version="1",state="ready"}')).toBe(1);
    expect(samples.get('inferd_model_state{model="iris",version="1",state="loading"}')).toBe(0);
    expect([...samples.keys()].every((k) => k.startsWith("inferd_"))).toBe(true);
  });

  it("answers HEAD without a body, 405 for other methods, and leaves other paths alone", async () => {
    const route = createMetricsRoute(createInferdMetrics({ collectDefault: false }).registry);
    expect(await scrape(route, "HEAD", "/metrics")).toMatchObject({ status: 200, body: undefined });
    const post = await scrape(route, "POST", "/metrics");
    expect(post).toMatchObject({ status: 405, headers: { allow: "GET, HEAD" } });
    expect(await scrape(route, "GET", "/metricsz")).toBe(false);
    expect(await scrape(route, "GET", "/inferd.v1.InferenceService/Predict")).toBe(false);
  });

  it("parse rejects malformed lines, so the grammar check can fail", () => {
    expect(() => parse("# TYPE a counter\na{b=c} 1\n")).toThrow(/not Prometheus text/);
    expect(() => parse("orphan 1\n")).toThrow(/before its # TYPE/);
  });
});
