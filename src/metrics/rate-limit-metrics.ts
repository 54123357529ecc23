import type { InferdMetrics } from "./inferd-metrics.js";

/** Counts a request an API key's limit refused, by the key's name (never the key) and the limit. */
export function recordRateLimited(metrics: InferdMetrics, key: string, limit: string): void {
  metrics.rateLimited.inc({ key, limit });
}
