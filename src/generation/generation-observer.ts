import type { VersionMemory } from "../registry/version-memory.js";
import type { PrefixCacheStats } from "./engine/prefix-cache.js";

/** Token kinds a {@link GenerationObserver} counts. */
export type TokenKind = "prompt" | "completion";

/**
 * Observability hooks of the generation engine; the metrics module maps them onto
 * Prometheus (`createGenerationObserver`). Defined here so that generation does not
 * import metrics. Called synchronously on the event loop as the worker's step
 * messages arrive, so implementations must be cheap and must not throw. Times are
 * in seconds, as Prometheus wants them.
 */
export interface GenerationObserver {
  /** Time from request arrival to its first generated token. */
  onFirstToken(seconds: number): void;
  /** Time between two consecutive tokens of one sequence. */
  onInterToken(seconds: number): void;
  /** Adds `count` tokens of `kind` (prompt once per accepted request, completion per step). */
  onTokens(kind: TokenKind, count: number): void;
  /** The sequence counts after every change (running: decoding; waiting: for a slot). */
  onSequences(counts: { running: number; waiting: number }): void;
  /** The version's memory: once loaded, then after every step. */
  onMemory(memory: VersionMemory): void;
  /** The prefix cache's running counts (lookups, hits, tokens saved) and size, after every step that has one. */
  onPrefixCache?(stats: PrefixCacheStats): void;
}
