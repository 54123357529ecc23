import { type MetricValue, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createBatchObserver } from "../../src/metrics/batch-observer.js";
import { createGenerationObserver } from "../../src/metrics/generation-observer.js";
import { createInferdMetrics, type InferdMetrics } from "../../src/metrics/inferd-metrics.js";
import { recordInference } from "../../src/metrics/model-metrics.js";

async function values(metrics: InferdMetrics, name: string) {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const samples = (await metric.get()).values as (MetricValue<string> & { metricName?: string })[];
  return samples.map((v) => ({
    name: v.metricName ?? name,
    labels: v.labels,
    value: v.value,
  }));
}

const M = { model: "iris", version: "2" };

describe("createInferdMetrics", () => {
  it("registers exactly the documented names, types and label names", async () => {
    const metrics = createInferdMetrics({ collectDefault: false });
    const described = (await metrics.registry.getMetricsAsJSON()).map((m) => [m.name, m.type]);
    expect(described).toEqual([
      ["inferd_grpc_server_started_total", "counter"],
      ["inferd_grpc_server_handled_total", "counter"],
      ["inferd_grpc_server_handling_seconds", "histogram"],
      ["inferd_inference_requests_total", "counter"],
      ["inferd_inference_request_duration_seconds", "histogram"],
      ["inferd_inference_queue_duration_seconds", "histogram"],
      ["inferd_inference_compute_duration_seconds", "histogram"],
      ["inferd_inference_batch_size", "histogram"],
      ["inferd_inference_queue_depth", "gauge"],
      ["inferd_inference_rejected_total", "counter"],
      ["inferd_response_cache_hits_total", "counter"],
      ["inferd_response_cache_misses_total", "counter"],
      ["inferd_model_state", "gauge"],
      ["inferd_generation_time_to_first_token_seconds", "histogram"],
      ["inferd_generation_inter_token_latency_seconds", "histogram"],
      ["inferd_generation_tokens_total", "counter"],
      ["inferd_generation_sequences", "gauge"],
      ["inferd_generation_weight_bytes", "gauge"],
      ["inferd_generation_kv_cache_bytes", "gauge"],
      ["inferd_generation_prefix_cache_lookups_total", "counter"],
      ["inferd_generation_prefix_cache_hits_total", "counter"],
      ["inferd_generation_prefix_cache_tokens_saved_total", "counter"],
      ["inferd_generation_prefix_cache_bytes", "gauge"],
      ["inferd_http_requests_total", "counter"],
      ["inferd_http_request_duration_seconds", "histogram"],
      ["inferd_rate_limited_total", "counter"],
    ]);
  });

  it("uses its own registry each time, or the one given, and prefixes default metrics", async () => {
    const a = createInferdMetrics({ collectDefault: false });
    const b = createInferdMetrics({ collectDefault: false });
    expect(a.registry).not.toBe(b.registry);
    const registry = new Registry();
    const c = createInferdMetrics({ registry });
    expect(c.registry).toBe(registry);
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names).toContain("inferd_process_cpu_seconds_total");
    expect(names.every((n) => n.startsWith("inferd_"))).toBe(true);
  });
});

describe("recordInference", () => {
  it("counts by code and observes seconds", async () => {
    const metrics = createInferdMetrics({ collectDefault: false });
    recordInference(metrics, "iris", 2, "ok", 0.003);
    recordInference(metrics, "iris", 2, "ok", 0.2);
    recordInference(metrics, "iris", 2, "invalid_argument", 0.001);
    expect(await values(metrics, "inferd_inference_requests_total")).toEqual([
      { name: "inferd_inference_requests_total", labels: { ...M, code: "ok" }, value: 2 },
      {
        name: "inferd_inference_requests_total",
        labels: { ...M, code: "invalid_argument" },
        value: 1,
      },
    ]);
    const hist = await values(metrics, "inferd_inference_request_duration_seconds");
    expect(hist.find((v) => v.name.endsWith("_sum"))?.value).toBeCloseTo(0.204, 10);
    expect(hist.find((v) => v.labels.le === 0.005)?.value).toBe(2);
    expect(hist.find((v) => v.name.endsWith("_count"))?.value).toBe(3);
  });
});

describe("createBatchObserver", () => {
  it("records batch size, per-request queue time, compute time, depth, cache and rejects", async () => {
    const metrics = createInferdMetrics({ collectDefault: false });
    const observer = createBatchObserver(metrics, "iris", 2);
    observer.onBatch({ size: 3, requests: 2, queueMs: [4, 30], computeMs: 12 });
    observer.onBatch({ size: 200, requests: 1, queueMs: [1], computeMs: 50 });
    observer.onQueueDepth(7);
    observer.onQueueDepth(5);
    observer.onCache(true);
    observer.onCache(false);
    observer.onCache(false);
    observer.onReject("resource_exhausted");

    const batch = await values(metrics, "inferd_inference_batch_size");
    expect(
      batch.filter((v) => v.name.endsWith("_bucket")).map((v) => [v.labels.le, v.value]),
    ).toEqual([
      [1, 0],
      [2, 0],
      [4, 1],
      [8, 1],
      [16, 1],
      [32, 1],
      [64, 1],
      [128, 1],
      [256, 2],
      ["+Inf", 2],
    ]);
    const queue = await values(metrics, "inferd_inference_queue_duration_seconds");
    expect(queue.find((v) => v.name.endsWith("_count"))?.value).toBe(3);
    expect(queue.find((v) => v.name.endsWith("_sum"))?.value).toBeCloseTo(0.035, 10);
    const compute = await values(metrics, "inferd_inference_compute_duration_seconds");
    expect(compute.find((v) => v.name.endsWith("_sum"))?.value).toBeCloseTo(0.062, 10);
    expect((await values(metrics, "inferd_inference_queue_depth"))[0]).toMatchObject({
      labels: M,
      value: 5,
    });
    expect((await values(metrics, "inferd_response_cache_hits_total"))[0]?.value).toBe(1);
    expect((await values(metrics, "inferd_response_cache_misses_total"))[0]?.value).toBe(2);
    expect(await values(metrics, "inferd_inference_rejected_total")).toEqual([
      {
        name: "inferd_inference_rejected_total",
        labels: { ...M, kind: "resource_exhausted" },
        value: 1,
      },
    ]);
  });
});

describe("createGenerationObserver", () => {
  it("records TTFT, inter-token latency, tokens by kind and sequences by state", async () => {
    const metrics = createInferdMetrics({ collectDefault: false });
    const observer = createGenerationObserver(metrics, "llm", 1);
    observer.onFirstToken(0.12);
    observer.onInterToken(0.02);
    observer.onInterToken(0.03);
    observer.onTokens("prompt", 17);
    observer.onTokens("completion", 1);
    observer.onTokens("completion", 1);
    observer.onSequences({ running: 3, waiting: 4 });
    const L = { model: "llm", version: "1" };
    const ttft = await values(metrics, "inferd_generation_time_to_first_token_seconds");
    expect(ttft.find((v) => v.name.endsWith("_sum"))?.value).toBeCloseTo(0.12, 10);
    const itl = await values(metrics, "inferd_generation_inter_token_latency_seconds");
    expect(itl.find((v) => v.name.endsWith("_count"))?.value).toBe(2);
    expect(await values(metrics, "inferd_generation_tokens_total")).toEqual([
      { name: "inferd_generation_tokens_total", labels: { ...L, kind: "prompt" }, value: 17 },
      { name: "inferd_generation_tokens_total", labels: { ...L, kind: "completion" }, value: 2 },
    ]);
    expect(await values(metrics, "inferd_generation_sequences")).toEqual([
      { name: "inferd_generation_sequences", labels: { ...L, state: "running" }, value: 3 },
      { name: "inferd_generation_sequences", labels: { ...L, state: "waiting" }, value: 4 },
    ]);
  });

  it("records weight bytes and KV-cache bytes used and reserved", async () => {
    const metrics = createInferdMetrics({ collectDefault: false });
    createGenerationObserver(metrics, "llm", 1).onMemory({
      weightBytes: 1000,
      kvCacheBytesPerToken: 8,
      kvCacheUsedBytes: 40,
      kvCacheReservedBytes: 64,
      kvCacheMaxBytes: 800,
      kvCacheBudgetBytes: 900,
      prefixCacheUsedBytes: 0,
      prefixCacheBudgetBytes: 0,
    });
    const L = { model: "llm", version: "1" };
    expect(await values(metrics, "inferd_generation_weight_bytes")).toEqual([
      { name: "inferd_generation_weight_bytes", labels: L, value: 1000 },
    ]);
    expect(await values(metrics, "inferd_generation_kv_cache_bytes")).toEqual([
      { name: "inferd_generation_kv_cache_bytes", labels: { ...L, state: "used" }, value: 40 },
      { name: "inferd_generation_kv_cache_bytes", labels: { ...L, state: "reserved" }, value: 64 },
    ]);
  });

  it("adds the prefix cache's running totals to counters, each step's growth once", async () => {
    const metrics = createInferdMetrics({ collectDefault: false });
    const observer = createGenerationObserver(metrics, "llm", 1);
    const stats = { lookups: 2, hits: 1, tokensSaved: 32, blocks: 2, bytes: 4096, evictions: 0 };
    observer.onPrefixCache?.(stats);
    observer.onPrefixCache?.(stats);
    observer.onPrefixCache?.({ ...stats, lookups: 3, hits: 2, tokensSaved: 80, bytes: 8192 });
    const value = async (name: string) => (await values(metrics, name))[0]?.value;
    expect(await value("inferd_generation_prefix_cache_lookups_total")).toBe(3);
    expect(await value("inferd_generation_prefix_cache_hits_total")).toBe(2);
    expect(await value("inferd_generation_prefix_cache_tokens_saved_total")).toBe(80);
    expect(await value("inferd_generation_prefix_cache_bytes")).toBe(8192);
  });
});
