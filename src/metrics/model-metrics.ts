import type { VersionState } from "../registry/model-registry.js";
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
  const labels = versionLabels(model, version);
  // Tallied, folded in at scrape (see ModelTallies): one labels object per series.
  metrics.modelTallies.requests.inc(codeLabels(labels, code));
  metrics.modelTallies.requestSeconds.observe(labels.plain, seconds);
}

/** The labels `{model, version}` of a model version's series: one object per version, for every caller. */
export type ModelLabels = { readonly model: string; readonly version: string };

interface VersionLabels {
  readonly plain: ModelLabels;
  readonly withCode: Map<string, ModelLabels & { readonly code: string }>;
}

/**
 * Per model and version, for the whole process: the tallies key series by labels
 * object, so a version loaded again (or observed by two batchers) must reuse its object.
 */
const VERSION_LABELS = new Map<string, Map<number, VersionLabels>>();

function versionLabels(model: string, version: number): VersionLabels {
  let byVersion = VERSION_LABELS.get(model);
  if (byVersion === undefined) {
    byVersion = new Map();
    VERSION_LABELS.set(model, byVersion);
  }
  let labels = byVersion.get(version);
  if (labels === undefined) {
    labels = { plain: { model, version: String(version) }, withCode: new Map() };
    byVersion.set(version, labels);
  }
  return labels;
}

function codeLabels(labels: VersionLabels, code: string): ModelLabels & { code: string } {
  let withCode = labels.withCode.get(code);
  if (withCode === undefined) {
    // A literal, not a spread: V8 builds a spread's extra property into a slow object.
    withCode = { model: labels.plain.model, version: labels.plain.version, code };
    labels.withCode.set(code, withCode);
  }
  return withCode;
}

/** The one `{model, version}` labels object of a version, the key of its tallied series. */
export function modelLabels(model: string, version: number): ModelLabels {
  return versionLabels(model, version).plain;
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
 * Drops a version's shared labels objects once its series are forgotten (see
 * `forgetVersionSeries`): a version loaded again gets new ones, new series.
 */
export function releaseModelLabels(model: string, version: number): void {
  VERSION_LABELS.get(model)?.delete(version);
  if (VERSION_LABELS.get(model)?.size === 0) VERSION_LABELS.delete(model);
}
