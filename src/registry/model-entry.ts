import type { ModelConfig } from "./model-config.js";
import type { ModelKind } from "./model-kind.js";
import type { VersionStatus } from "./model-registry.js";
import type { ScannedModel } from "./repository-scanner.js";
import type { VersionInstance } from "./version-instance.js";

/** Which versions a model should have loaded: its policy, none, or a list given to `load`. */
export type Control = "policy" | "unloaded" | readonly number[];

/** The registry's mutable record of one model: last scan, adopted config, instances. */
export interface ModelEntry {
  readonly name: string;
  scan: ScannedModel;
  /** The last valid config, the one live instances run with; undefined if never valid. */
  config: ModelConfig | undefined;
  configText: string | undefined;
  kind: ModelKind;
  reason: string | undefined;
  control: Control;
  desired: readonly number[];
  instances: VersionInstance[];
  /**
   * The versions `start` was to load that have not been ready since, which readiness
   * waits for: a version leaves it once ready, so a later reload that fails does not
   * count. Undefined for a model that came later or was unloaded since (see
   * readiness-blockers.ts).
   */
  gate: Set<number> | undefined;
  /** What GetModel warns of (see `routingWarnings`), as of the last reconcile. */
  warnings: readonly string[];
}

/** Loading or ready: an instance that serves or is about to. */
export const isLive = (i: VersionInstance) => i.state === "loading" || i.state === "ready";

/** A fresh entry for a scanned model; nothing loaded yet. */
export function createModelEntry(scan: ScannedModel, control: Control): ModelEntry {
  return {
    name: scan.name,
    scan,
    config: undefined,
    configText: undefined,
    kind: scan.kind,
    reason: undefined,
    control,
    desired: [],
    instances: [],
    gate: undefined,
    warnings: [],
  };
}

/** Versions on disk or in memory, ascending. */
export function knownVersions(entry: ModelEntry): number[] {
  const all = new Set([...entry.scan.versions, ...entry.instances.map((i) => i.version)]);
  return [...all].sort((a, b) => a - b);
}

/**
 * One version's status: the ready instance when there is one (a reload in progress
 * or a failed reload does not hide what serves), else the newest attempt.
 */
export function versionStatus(entry: ModelEntry, version: number): VersionStatus {
  const mine = entry.instances.filter((i) => i.version === version);
  const shown = mine.find((i) => i.state === "ready") ?? mine.at(-1);
  const inFlight = mine.reduce((sum, i) => sum + i.leases, 0);
  if (!shown) return { version, state: "unloaded", inputs: [], outputs: [], inFlight };
  const newerFailure = mine.findLast((i) => i.state === "failed");
  const reason =
    shown.state === "failed"
      ? shown.reason
      : shown.state === "ready" && newerFailure
        ? `reload failed: ${newerFailure.reason}`
        : shown.reason;
  return {
    version,
    state: shown.state,
    ...(reason !== undefined && { reason }),
    ...(shown.readyAt !== undefined && { readyAt: shown.readyAt }),
    ...(shown.servable !== undefined && { statistics: shown.statistics }),
    ...(shown.servable?.memory !== undefined && { memory: shown.servable.memory() }),
    inputs: shown.servable?.inputs ?? [],
    outputs: shown.servable?.outputs ?? [],
    inFlight,
  };
}
