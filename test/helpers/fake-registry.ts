import { notFound, unavailable } from "../../src/errors/inferd-error.js";
import {
  createInferenceStatistics,
  type InferenceStatistics,
} from "../../src/registry/inference-statistics.js";
import { defaultModelConfig, type ModelConfig } from "../../src/registry/model-config.js";
import type {
  Lease,
  ModelRegistry,
  ModelStatus,
  NotReadyVersion,
  RegistryEvent,
  Servable,
} from "../../src/registry/model-registry.js";

/** One model version the fake registry holds. */
export interface FakeEntry {
  name: string;
  version: number;
  servable: Servable;
  config?: Partial<ModelConfig>;
  state?: "ready" | "loading" | "failed";
  /** What leases on it record (created on the first lease; reported while ready). */
  statistics?: InferenceStatistics;
}

/** A registry over fixed entries, with what tests look at and switch. */
export interface FakeRegistry extends ModelRegistry {
  /** Sends `event` to every subscriber, as the real registry does on a state change. */
  emit(event: RegistryEvent): void;
  /**
   * Makes every version of `name` ready or loading (adding version 1 with no
   * signature when the model is unknown) and emits the change like the real registry.
   */
  setReady(name: string, ready: boolean): void;
  /** Leases held right now. */
  readonly held: () => number;
  /** Subscribers right now. */
  readonly subscribers: () => number;
  readonly loads: { name: string; versions: readonly number[] | undefined }[];
  readonly started: () => boolean;
  readonly closed: () => boolean;
}

/** A servable with no inputs or outputs, for models only their readiness matters of. */
const signatureless: Servable = { kind: "predict", inputs: [], outputs: [], async dispose() {} };

/** `{ name: ready }` as entries: version 1 of each, ready or loading. */
function readinessEntries(models: Readonly<Record<string, boolean>>): FakeEntry[] {
  return Object.entries(models).map(([name, ready]) => ({
    name,
    version: 1,
    servable: signatureless,
    state: ready ? "ready" : "loading",
  }));
}

const isReadyEntry = (e: FakeEntry) => (e.state ?? "ready") === "ready";

/** The entry's statistics, created on first use. */
function statisticsOf(entry: FakeEntry): InferenceStatistics {
  entry.statistics ??= createInferenceStatistics();
  return entry.statistics;
}

/**
 * An in-memory registry: `entries` (model versions with servables, config and state),
 * or `{ name: ready }` for models that only have a readiness. Leases are counted,
 * loads recorded; the server is ready when every version is.
 */
export function createFakeRegistry(
  models: FakeEntry[] | Readonly<Record<string, boolean>>,
): FakeRegistry {
  const entries = Array.isArray(models) ? [...models] : readinessEntries(models);
  const listeners = new Set<(event: RegistryEvent) => void>();
  const loads: FakeRegistry["loads"] = [];
  const leases = { held: 0 };
  let started = false;
  let closed = false;
  const status = statusOf(entries, leases);
  const emit = (event: RegistryEvent) => {
    for (const l of listeners) l(event);
  };
  return {
    loads,
    held: () => leases.held,
    subscribers: () => listeners.size,
    started: () => started,
    closed: () => closed,
    emit,
    setReady: (name, ready) => {
      const state = ready ? "ready" : "loading";
      const known = entries.filter((e) => e.name === name);
      if (known.length === 0) entries.push({ name, version: 1, servable: signatureless, state });
      for (const e of known) e.state = state;
      emit({ model: name, version: known[0]?.version ?? 1, state, time: new Date() });
    },
    async start() {
      started = true;
    },
    list: () => namesOf(entries).map(status),
    get: status,
    acquire: (name, version) => leaseOf(entries, leases, name, version),
    async load(name, versions) {
      loads.push({ name, versions });
      return status(name);
    },
    async unload(name) {
      return status(name);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    isReady: () => entries.every(isReadyEntry),
    notReady: () =>
      entries
        .filter((e) => !isReadyEntry(e))
        .map((e): NotReadyVersion => ({ model: e.name, version: e.version, state: e.state ?? "" })),
    isModelReady: (name) => entries.some((e) => e.name === name && isReadyEntry(e)),
    async close() {
      closed = true;
    },
  };
}

const namesOf = (entries: readonly FakeEntry[]) => [...new Set(entries.map((e) => e.name))];

/** `get` over `entries`: not_found (listing the models) for an unknown name. */
function statusOf(entries: readonly FakeEntry[], leases: { held: number }) {
  return (name: string): ModelStatus => {
    const versions = entries.filter((e) => e.name === name);
    if (versions.length === 0)
      throw notFound(`model "${name}" not found; models: ${namesOf(entries).join(", ")}`);
    return {
      name,
      kind: versions[0]?.servable.kind ?? "predict",
      config: { labels: [], top_k: 1, ...versions[0]?.config, nested: { undef: undefined, n: 1 } },
      versions: versions.map((e) => ({
        version: e.version,
        state: e.state ?? "ready",
        ...(e.state === "failed" && { reason: "bad onnx file" }),
        inputs: e.servable.inputs,
        outputs: e.servable.outputs,
        inFlight: leases.held,
        ...(isReadyEntry(e) && { statistics: statisticsOf(e) }),
      })),
    };
  };
}

/** A lease on `version` (or the newest) of `name`; releasing twice throws. */
function leaseOf(
  entries: readonly FakeEntry[],
  leases: { held: number },
  name: string,
  version: number | undefined,
): Lease {
  const candidates = entries.filter(
    (e) => e.name === name && (version === undefined || e.version === version),
  );
  if (candidates.length === 0)
    throw notFound(`model "${name}" version ${version ?? "any"} not found`);
  const entry = candidates.sort((a, b) => b.version - a.version)[0] as FakeEntry;
  if (!isReadyEntry(entry)) throw unavailable(`model "${name}" is ${entry.state}`);
  leases.held += 1;
  let released = false;
  return {
    model: name,
    version: entry.version,
    servable: entry.servable,
    config: { ...defaultModelConfig(), ...entry.config },
    statistics: statisticsOf(entry),
    release() {
      if (released) throw new Error("lease released twice");
      released = true;
      leases.held -= 1;
    },
  };
}
