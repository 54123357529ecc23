import type { ModelRegistry, VersionState } from "../registry/model-registry.js";
import type { InferdMetrics } from "./inferd-metrics.js";

const VERSION_STATES: readonly VersionState[] = [
  "loading",
  "ready",
  "draining",
  "unloaded",
  "failed",
];

/**
 * Counts one finished inference request and observes its end-to-end time.
 * `code` is the final status in snake_case ("ok", "invalid_argument", ...), the
 * same vocabulary as `InferdErrorKind`.
 */
export function recordInference(
  metrics: InferdMetrics,
  model: string,
  version: number,
  code: string,
  seconds: number,
): void {
  const labels = inferenceLabels(model, version, code);
  metrics.inferenceRequests.inc(labels.withCode);
  metrics.inferenceRequestSeconds.observe(labels.plain, seconds);
}

interface InferenceLabels {
  readonly plain: { readonly model: string; readonly version: string };
  readonly withCode: { readonly model: string; readonly version: string; readonly code: string };
}

/** Per model, version and code: one labels object per series, not two per request. */
const INFERENCE_LABELS = new Map<string, Map<number, Map<string, InferenceLabels>>>();

function inferenceLabels(model: string, version: number, code: string): InferenceLabels {
  let byVersion = INFERENCE_LABELS.get(model);
  if (byVersion === undefined) {
    byVersion = new Map();
    INFERENCE_LABELS.set(model, byVersion);
  }
  let byCode = byVersion.get(version);
  if (byCode === undefined) {
    byCode = new Map();
    byVersion.set(version, byCode);
  }
  let labels = byCode.get(code);
  if (labels === undefined) {
    const plain = { model, version: String(version) };
    // A literal, not a spread: V8 builds a spread's extra property into a slow object.
    labels = { plain, withCode: { model, version: plain.version, code } };
    byCode.set(code, labels);
  }
  return labels;
}

/**
 * Sets `inferd_model_state` for one version: 1 on `state`, 0 on every other
 * state, so that `inferd_model_state{state="ready"} == 1` selects ready versions
 * and a transition never leaves two states at 1.
 */
export function recordModelState(
  metrics: InferdMetrics,
  model: string,
  version: number,
  state: VersionState,
): void {
  for (const s of VERSION_STATES) {
    metrics.modelState.set({ model, version: String(version), state: s }, s === state ? 1 : 0);
  }
}

/**
 * Keeps `inferd_model_state` in step with the registry's events. Returns the
 * unsubscribe function.
 */
export function observeRegistry(
  metrics: InferdMetrics,
  registry: Pick<ModelRegistry, "subscribe">,
): () => void {
  return registry.subscribe((event) =>
    recordModelState(metrics, event.model, event.version, event.state),
  );
}
