import type { TensorSpec } from "../tensor/host-tensor.js";
import type { InferenceStatistics } from "./inference-statistics.js";
import type { ModelConfig } from "./model-config.js";
import type { ModelKind } from "./model-kind.js";
import type { VersionMemory } from "./version-memory.js";

/** Life cycle of one model version. */
export type VersionState = "loading" | "ready" | "draining" | "unloaded" | "failed";

/**
 * A loaded model version as the registry holds it. The registry knows only this
 * much; `kind` tells the caller which richer interface the object also implements
 * (`LoadedModel` from runtime/ for "predict", the generation engine for "generate").
 */
export interface Servable {
  readonly kind: ModelKind;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** What the version holds in memory now; generative versions report it. */
  memory?(): VersionMemory;
  dispose(): Promise<void>;
}

/** One version as the registry reports it (GetModel, ListModels, readiness). */
export interface VersionStatus {
  readonly version: number;
  readonly state: VersionState;
  /** Why the version failed (state "failed"). */
  readonly reason?: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Leases held right now. */
  readonly inFlight: number;
  /** When the shown instance finished loading; absent if it never became ready. */
  readonly readyAt?: Date;
  /** What the shown instance served; absent unless it loaded (ready or draining). */
  readonly statistics?: InferenceStatistics;
  /** The shown instance's memory, when it is loaded and reports it (generative versions). */
  readonly memory?: VersionMemory;
}

/** One model as the registry reports it: its kind, versions and effective config. */
export interface ModelStatus {
  readonly name: string;
  readonly kind: ModelKind;
  readonly versions: readonly VersionStatus[];
  /** Effective configuration: model.json merged with defaults, as plain JSON. */
  readonly config: Readonly<Record<string, unknown>>;
  /** A configuration error that keeps the whole model from loading. */
  readonly reason?: string;
  /**
   * What is valid but likely not what the operator meant (routing weights on versions
   * the version policy does not serve); absent when there is none.
   */
  readonly warnings?: readonly string[];
}

/** A version's change of state, as WatchModels streams it. */
export interface RegistryEvent {
  readonly model: string;
  readonly version: number;
  readonly state: VersionState;
  readonly reason?: string;
  readonly time: Date;
}

/**
 * A hold on one ready version. While any lease is held the version is not
 * disposed (a draining version waits for its leases). Call `release` exactly once.
 */
export interface Lease<S extends Servable = Servable> {
  readonly model: string;
  readonly version: number;
  readonly servable: S;
  /** The model's effective configuration (parsed model.json). */
  readonly config: ModelConfig;
  /** The version instance's statistics: the predictor reports each request's end here. */
  readonly statistics: InferenceStatistics;
  release(): void;
}

/** A model, or one of its versions, that keeps the server from being ready. */
export interface NotReadyVersion {
  model: string;
  version?: number;
  state: string;
  reason?: string;
}

/**
 * The registry as the rest of the server sees it. Implemented by
 * `createModelRegistry` in `repository-registry.ts`.
 */
export interface ModelRegistry {
  /** Scans the repository and loads what the control mode says. Resolves when loads settle. */
  start(signal?: AbortSignal): Promise<void>;
  list(): ModelStatus[];
  /** @throws InferdError not_found, listing the models that exist. */
  get(name: string): ModelStatus;
  /**
   * Leases a ready version: `version` pinned, or chosen by the model's routing
   * policy when absent. Throws not_found (unknown model/version, listing what
   * exists) or unavailable (known but not ready).
   */
  acquire(name: string, version?: number): Lease;
  /** Loads a model (all versions its policy selects, or the ones given) from the repository. */
  load(name: string, versions?: readonly number[], signal?: AbortSignal): Promise<ModelStatus>;
  /** Drains and unloads one version, or every version when absent. */
  unload(name: string, version?: number): Promise<ModelStatus>;
  /** Subscribes to registry events; returns the unsubscribe function. */
  subscribe(listener: (event: RegistryEvent) => void): () => void;
  /**
   * True once `start` settled and everything it was to load is ready; what loads or
   * fails later (a rollout, a new model, a `load`) does not count (see `notReady`).
   */
  isReady(): boolean;
  /** What keeps the server from being ready (empty when only `start` is pending or it is closed). */
  notReady(): NotReadyVersion[];
  /** True when the model has at least one ready version. */
  isModelReady(name: string): boolean;
  /** Stops polling, drains every version (waiting for leases), disposes them. */
  close(): Promise<void>;
}
