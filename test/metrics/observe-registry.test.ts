import { describe, expect, it } from "vitest";
import { createBatchObserver } from "../../src/metrics/batch-observer.js";
import { createGenerationObserver } from "../../src/metrics/generation-observer.js";
import { createInferdMetrics, type InferdMetrics } from "../../src/metrics/inferd-metrics.js";
import { recordInference, recordModelState } from "../../src/metrics/model-metrics.js";
import { observeRegistry } from "../../src/metrics/observe-registry.js";
import type { RegistryEvent, VersionState } from "../../src/registry/model-registry.js";

/** A metrics set observing a fake registry; `emit` sends it one event. */
function observed() {
  const metrics = createInferdMetrics({ collectDefault: false });
  let listener: ((e: RegistryEvent) => void) | undefined;
  const unsubscribe = observeRegistry(metrics, {
    subscribe: (l) => {
      listener = l;
      return () => {
        listener = undefined;
      };
    },
  });
  const emit = (version: number, state: VersionState) =>
    listener?.({ model: "iris", version, state, time: new Date() });
  return { metrics, emit, unsubscribe, listening: () => listener !== undefined };
}

/** Every exposed series line naming `version` of iris. */
async function seriesOf(metrics: InferdMetrics, version: number): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text.split("\n").filter((l) => l.includes(`model="iris",version="${version}"`));
}

/** Lets the asynchronous forgetting (it reads each metric) finish. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Records into every kind of per-version series for iris `version`. */
function populate(metrics: InferdMetrics, version: number): void {
  recordInference(metrics, "iris", version, "ok", 0.003);
  recordInference(metrics, "iris", version, "invalid_argument", 0.001);
  const batch = createBatchObserver(metrics, "iris", version);
  batch.onBatch({ size: 3, requests: 2, queueMs: [4, 30], computeMs: 12 });
  batch.onQueueDepth(2);
  batch.onCache(true);
  batch.onReject("resource_exhausted");
  const generation = createGenerationObserver(metrics, "iris", version);
  generation.onFirstToken(0.01);
  generation.onInterToken(0.002);
  generation.onTokens("completion", 5);
  generation.onSequences({ running: 1, waiting: 0 });
  generation.onMemory({
    weightBytes: 10,
    kvCacheUsedBytes: 2,
    kvCacheReservedBytes: 4,
    kvCacheBytesPerToken: 1,
    kvCacheMaxBytes: 8,
    kvCacheBudgetBytes: 8,
    prefixCacheUsedBytes: 0,
    prefixCacheBudgetBytes: 0,
  });
  generation.onPrefixCache?.({
    lookups: 2,
    hits: 1,
    tokensSaved: 8,
    bytes: 64,
    blocks: 1,
    evictions: 0,
  });
}

describe("observeRegistry", () => {
  it("sets 1 on the current state and 0 on the others, following registry events", async () => {
    const { metrics, emit, unsubscribe, listening } = observed();
    emit(2, "loading");
    recordModelState(metrics, "iris", 2, "ready");
    const states = (await metrics.registry.getSingleMetric("inferd_model_state")?.get())?.values;
    expect(Object.fromEntries((states ?? []).map((v) => [v.labels.state, v.value]))).toEqual({
      loading: 0,
      ready: 1,
      draining: 0,
      unloaded: 0,
      failed: 0,
    });
    unsubscribe();
    expect(listening()).toBe(false);
  });

  it("forgets every series of an unloaded version and keeps the others'", async () => {
    const { metrics, emit } = observed();
    for (const version of [2, 3]) {
      emit(version, "ready");
      populate(metrics, version);
    }
    // 20 metrics: 5 states, 6 histograms and the rest: the version's series are many.
    expect((await seriesOf(metrics, 2)).length).toBeGreaterThan(60);
    const kept = await seriesOf(metrics, 3);
    emit(2, "draining");
    emit(2, "unloaded");
    await settle();
    expect(await seriesOf(metrics, 2)).toEqual([]);
    expect(await seriesOf(metrics, 3)).toEqual(kept);
    // Loaded again later, the version counts from nothing.
    emit(2, "loading");
    recordInference(metrics, "iris", 2, "ok", 0.003);
    const requests = (await seriesOf(metrics, 2)).filter((l) =>
      l.startsWith("inferd_inference_requests_total"),
    );
    expect(requests).toEqual([
      'inferd_inference_requests_total{model="iris",version="2",code="ok"} 1',
    ]);
  });

  it("keeps the series of a version loaded again before the forgetting ends", async () => {
    const { metrics, emit } = observed();
    emit(2, "ready");
    populate(metrics, 2);
    emit(2, "unloaded");
    emit(2, "loading");
    await settle();
    expect(await seriesOf(metrics, 2)).toContain(
      'inferd_model_state{model="iris",version="2",state="loading"} 1',
    );
  });
});
