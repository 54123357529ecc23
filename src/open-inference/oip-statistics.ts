import { notFound } from "../errors/inferd-error.js";
import type { InferenceStatisticsSnapshot } from "../registry/inference-statistics.js";
import type { ModelRegistry, ModelStatus } from "../registry/model-registry.js";

/** One `ModelStatistics` entry, protocol-neutral: a version's counters and durations. */
export interface OipModelStatistics extends InferenceStatisticsSnapshot {
  readonly name: string;
  readonly version: string;
}

/**
 * Triton's statistics extension over the registry: `name` "" answers every loaded
 * version of every model, a name alone every loaded version of that model, a name and
 * a version that one. "Loaded" is a version whose instance finished loading (ready,
 * or draining its last requests); its numbers count from that load, so a reload
 * starts from zero. Throws not_found for an unknown model or version, and for a
 * model or version with nothing loaded.
 */
export function modelStatistics(
  registry: ModelRegistry,
  name: string,
  version: number | undefined,
): OipModelStatistics[] {
  if (name === "") return registry.list().flatMap((model) => loadedStatistics(model));
  const model = registry.get(name);
  const found = loadedStatistics(model, version);
  if (found.length > 0) return found;
  const known = model.versions.map((v) => `${v.version} (${v.state})`).join(", ") || "none";
  const what = version === undefined ? "no loaded version" : `no loaded version ${version}`;
  throw notFound(`model "${name}" has ${what}; versions: ${known}`);
}

function loadedStatistics(model: ModelStatus, version?: number): OipModelStatistics[] {
  return model.versions.flatMap((v) =>
    v.statistics === undefined || (version !== undefined && v.version !== version)
      ? []
      : [{ name: model.name, version: String(v.version), ...v.statistics.snapshot() }],
  );
}
