import type { InferdMetrics } from "./inferd-metrics.js";

/** Token kinds counted by `inferd_generation_tokens_total`. */
export type TokenKind = "prompt" | "completion";

/**
 * The hooks a generation engine calls. Times are in seconds, as Prometheus
 * wants them.
 */
export interface GenerationObserver {
  /** Time from request arrival to its first generated token. */
  onFirstToken(seconds: number): void;
  /** Time between two consecutive tokens of one sequence. */
  onInterToken(seconds: number): void;
  /** Adds `count` tokens of `kind` (prompt once per request, completion per step). */
  onTokens(kind: TokenKind, count: number): void;
  /** The scheduler's current sequence counts. */
  onSequences(counts: { running: number; waiting: number }): void;
}

/** A {@link GenerationObserver} that records into `metrics` for one model version. */
export function createGenerationObserver(
  metrics: InferdMetrics,
  model: string,
  version: number,
): GenerationObserver {
  const labels = { model, version: String(version) };
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
  };
}
