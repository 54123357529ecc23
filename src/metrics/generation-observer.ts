import type { GenerationObserver } from "../generation/generation-observer.js";
import type { InferdMetrics } from "./inferd-metrics.js";

export type { GenerationObserver, TokenKind } from "../generation/generation-observer.js";

/** A {@link GenerationObserver} that records into `metrics` for one model version. */
export function createGenerationObserver(
  metrics: InferdMetrics,
  model: string,
  version: number,
): GenerationObserver {
  const labels = { model, version: String(version) };
  // The worker reports running totals; counters take what was added since.
  let seen = { lookups: 0, hits: 0, tokensSaved: 0 };
  return {
    onFirstToken(seconds) {
      metrics.timeToFirstTokenSeconds.observe(labels, seconds);
    },
    onInterToken(seconds) {
      metrics.interTokenSeconds.observe(labels, seconds);
    },
    onTokens(kind, count) {
      metrics.generationTokens.inc({ ...labels, kind }, count);
    },
    onSequences({ running, waiting }) {
      metrics.generationSequences.set({ ...labels, state: "running" }, running);
      metrics.generationSequences.set({ ...labels, state: "waiting" }, waiting);
    },
    onMemory({ weightBytes, kvCacheUsedBytes, kvCacheReservedBytes }) {
      metrics.generationWeightBytes.set(labels, weightBytes);
      metrics.generationKvCacheBytes.set({ ...labels, state: "used" }, kvCacheUsedBytes);
      metrics.generationKvCacheBytes.set({ ...labels, state: "reserved" }, kvCacheReservedBytes);
    },
    onPrefixCache({ lookups, hits, tokensSaved, bytes }) {
      metrics.prefixCacheLookups.inc(labels, Math.max(0, lookups - seen.lookups));
      metrics.prefixCacheHits.inc(labels, Math.max(0, hits - seen.hits));
      metrics.prefixCacheTokensSaved.inc(labels, Math.max(0, tokensSaved - seen.tokensSaved));
      metrics.prefixCacheBytes.set(labels, bytes);
      seen = { lookups, hits, tokensSaved };
    },
  };
}
