import type { LabelValues } from "prom-client";
import type { InferdMetrics } from "./inferd-metrics.js";
import { releaseModelLabels } from "./model-metrics.js";

/** A per-version metric as far as forgetting needs it (Counter, Gauge and Histogram are). */
interface VersionMetric {
  get(): Promise<{ values: { labels: LabelValues<string> }[] }>;
  remove(labels: LabelValues<string>): void;
}

/**
 * Removes every series of one model version from the tallies and from every metric
 * labelled by version, as Triton does on unload: a server that hot-swaps versions
 * for weeks would otherwise expose ~70 dead series per version swapped out, each
 * scrape growing. What the version counted since the last scrape is not exposed.
 * Reading the series is asynchronous; `stillGone` is asked before anything is
 * removed, all at once, so that a version loaded again meanwhile keeps its series.
 */
export async function forgetVersionSeries(
  metrics: InferdMetrics,
  model: string,
  version: number,
  stillGone: () => boolean = () => true,
): Promise<void> {
  const v = String(version);
  const matches = (labels: LabelValues<string>) => labels.model === model && labels.version === v;
  const doomed: [VersionMetric, LabelValues<string>][] = [];
  for (const metric of versionMetrics(metrics)) {
    for (const { labels } of (await metric.get()).values) {
      const { le: _bucket, ...series } = labels;
      if (matches(series)) doomed.push([metric, series]);
    }
  }
  if (!stillGone()) return;
  for (const tally of Object.values(metrics.modelTallies)) tally.forget(matches);
  releaseModelLabels(model, version);
  for (const [metric, series] of doomed) metric.remove(series);
}

function versionMetrics(m: InferdMetrics): VersionMetric[] {
  return [
    ...[m.inferenceRequests, m.inferenceRequestSeconds, m.inferenceQueueSeconds],
    ...[m.inferenceComputeSeconds, m.inferenceBatchSize, m.inferenceQueueDepth],
    ...[m.inferenceRejected, m.cacheHits, m.cacheMisses, m.modelState],
    ...[m.timeToFirstTokenSeconds, m.interTokenSeconds, m.generationTokens],
    ...[m.generationSequences, m.generationWeightBytes, m.generationKvCacheBytes],
    ...[m.prefixCacheLookups, m.prefixCacheHits, m.prefixCacheTokensSaved, m.prefixCacheBytes],
  ];
}
