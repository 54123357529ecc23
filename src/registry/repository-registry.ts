import { raceAbort } from "../abort/race-abort.js";
import {
  abortReasonToError,
  failedPrecondition,
  type InferdError,
  notFound,
  unavailable,
} from "../errors/inferd-error.js";
import { effectiveConfigJson } from "./effective-config-json.js";
import { RefusedFolderError } from "./folder-entries.js";
import { defaultModelConfig } from "./model-config.js";
import {
  type Control,
  createModelEntry,
  knownVersions,
  type ModelEntry,
  versionStatus,
} from "./model-entry.js";
import { createModelReconciler, type ModelReconciler } from "./model-reconciler.js";
import type {
  Lease,
  ModelRegistry,
  ModelStatus,
  NotReadyVersion,
  RegistryEvent,
  Servable,
} from "./model-registry.js";
import { readinessBlockers } from "./readiness-blockers.js";
import {
  invalidModelName,
  listOrNone as list,
  notServable,
  noVersionToLoad,
  unknownModel,
} from "./registry-errors.js";
import type { RegistryLogger } from "./registry-logger.js";
import {
  isModelName,
  type ScannedModel,
  type ScanOptions,
  scanModel,
  scanRepository,
} from "./repository-scanner.js";
import { routeVersion } from "./route-version.js";
import { logSkippedOnce } from "./skipped-entries-log.js";
import type { VersionInstance } from "./version-instance.js";
import { leaseVersion } from "./version-lease.js";
import type { VersionLoadRequest } from "./version-load-request.js";
import { createVersionLoader, type VersionLoader } from "./version-loader.js";

/** Options of `createModelRegistry`: the repository, its control mode, and how a version is loaded. */
export interface ModelRegistryOptions {
  repository: string;
  /** none: load per policy at start. poll: same, then follow the folder. explicit: load on request. */
  controlMode: "none" | "poll" | "explicit";
  /** Rescan period in poll mode; default 5000. */
  pollIntervalMs?: number;
  /**
   * Builds the servable for a version (worker pool or generation engine). Runs any
   * `config.warmup` before resolving: the version becomes routable when it resolves.
   */
  loadVersion: (request: VersionLoadRequest) => Promise<Servable>;
  /**
   * Serve the repository as ONE model of this name (KServe's `/mnt/models`): see
   * `RepositoryScanOptions`. Unset: a repository with `model.onnx` at its top is one
   * model named after its folder; any other is a folder of model folders.
   */
  modelName?: string | undefined;
  /** Explicit mode: models loaded (per their policy) at start. */
  startupModels?: readonly string[];
  logger?: RegistryLogger;
  /** Follow symlinks that resolve outside the repository (see `FolderScanOptions`). */
  allowSymlinksOutside?: boolean;
  /** Random source in [0, 1) for weighted routing; tests inject a deterministic one. */
  random?: () => number;
}

const silent: RegistryLogger = { info() {}, warn() {}, error() {} };

/**
 * A {@link ModelRegistry} over a Triton-style folder `<repo>/<model>/<version>/model.onnx`.
 *
 * Readiness (`isReady`): true once `start` settled and every version it was to load
 * (by policy or `startupModels`) is ready. One that failed at start, or a model whose
 * model.json is invalid at start, keeps the server not ready until it is fixed (a poll
 * reloads it) or no longer wanted, as in Triton: a bad deployment never takes traffic.
 * Unlike Triton, what loads or fails after start (a rollout, a new model, a `load`)
 * does not count: replicas reading one shared repository would all leave their load
 * balancer at once while they serve (see readiness-blockers.ts).
 */
export function createModelRegistry(options: ModelRegistryOptions): ModelRegistry {
  return new RepositoryRegistry(options);
}

class RepositoryRegistry implements ModelRegistry {
  private readonly entries = new Map<string, ModelEntry>();
  private readonly listeners = new Set<(event: RegistryEvent) => void>();
  private readonly log: RegistryLogger;
  private readonly random: () => number;
  private readonly scanOptions: ScanOptions;
  private readonly background = new Set<Promise<void>>();
  private started = false;
  private closed = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  private readonly reconciler: ModelReconciler;
  private readonly loader: VersionLoader;
  /** Per model, the settling of its latest load or unload command (see `inOrder`). */
  private readonly commands = new Map<string, Promise<void>>();
  /** Per model, its reconcile from a poll while that still runs (see `pollOnce`). */
  private readonly polled = new Map<string, Promise<void>>();

  constructor(private readonly options: ModelRegistryOptions) {
    this.log = options.logger ?? silent;
    this.random = options.random ?? Math.random;
    this.scanOptions = {
      modelName: options.modelName,
      allowSymlinksOutside: options.allowSymlinksOutside ?? false,
      onSkip: logSkippedOnce(this.log),
    };
    this.loader = createVersionLoader({
      loadVersion: options.loadVersion,
      log: this.log,
      emit: (event) => this.emit(event),
      track: (work) => this.track(work),
    });
    this.reconciler = createModelReconciler(this.loader, this.log, (work) => this.track(work));
  }

  async start(signal?: AbortSignal): Promise<void> {
    const scans = await this.scanAll();
    this.logLayout(scans);
    const initial: Control = this.options.controlMode === "explicit" ? "unloaded" : "policy";
    for (const scan of scans) this.entries.set(scan.name, createModelEntry(scan, initial));
    for (const name of this.options.startupModels ?? []) {
      const entry = this.entries.get(name);
      if (!entry) throw this.unknownModel(name);
      entry.control = "policy";
    }
    await Promise.all(
      [...this.entries.values()].map((e) => this.reconciler.reconcile(e, e.scan, { signal })),
    );
    for (const e of this.entries.values()) {
      if (e.control !== "unloaded") {
        e.gate = new Set(e.desired.filter((v) => versionStatus(e, v).state !== "ready"));
      }
    }
    this.started = true;
    if (this.options.controlMode === "poll") this.schedulePoll();
  }

  list(): ModelStatus[] {
    return [...this.entries.keys()].sort().map((name) => this.get(name));
  }

  get(name: string): ModelStatus {
    const entry = this.entries.get(name);
    if (!entry) throw this.unknownModel(name);
    const versions = new Set([...entry.scan.versions, ...entry.instances.map((i) => i.version)]);
    const config = { ...(entry.config ?? defaultModelConfig()), kind: entry.kind };
    return {
      name,
      kind: entry.kind,
      versions: [...versions].sort((a, b) => a - b).map((v) => versionStatus(entry, v)),
      config: effectiveConfigJson(config),
      ...(entry.reason !== undefined && { reason: entry.reason }),
      ...(entry.warnings.length > 0 && { warnings: entry.warnings }),
    };
  }

  acquire(name: string, version?: number): Lease {
    if (this.closed) throw unavailable("the server is shutting down");
    const entry = this.entries.get(name);
    if (!entry) throw this.unknownModel(name);
    const ready = entry.instances.filter((i) => i.state === "ready");
    if (version !== undefined) {
      const instance = ready.findLast((i) => i.version === version);
      if (!instance) throw notServable(entry, version);
      return leaseVersion(instance);
    }
    if (ready.length === 0) {
      const states = entry.desired.map((v) => `${v}: ${versionStatus(entry, v).state}`);
      const detail = entry.reason ?? `versions ${list(states)}`;
      throw unavailable(`model "${name}" has no ready version (${detail})`);
    }
    const policy = (entry.config ?? defaultModelConfig()).routing;
    const chosen = routeVersion(
      policy,
      ready.map((i) => i.version),
      this.random,
    );
    const instance = ready.findLast((i) => i.version === chosen) as VersionInstance;
    return leaseVersion(instance);
  }

  load(name: string, versions?: readonly number[], signal?: AbortSignal): Promise<ModelStatus> {
    return this.inOrder(name, () => this.loadNow(name, versions, signal), signal);
  }

  unload(name: string, version?: number): Promise<ModelStatus> {
    return this.inOrder(name, () => this.unloadNow(name, version));
  }

  /**
   * Runs load and unload commands of one model one after another, in the order they
   * came, as Triton does: a LoadModel then an UnloadModel sent back to back end
   * unloaded, and each answer states the model as its own command left it. A command
   * whose caller gave up (`signal`) while it waited leaves the line and never runs.
   */
  private inOrder<T>(name: string, command: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const previous = this.commands.get(name) ?? Promise.resolve();
    const turn = raceAbort(previous, signal, abortReasonToError);
    const result = turn.then(() => {
      if (signal?.aborted) throw abortReasonToError(signal);
      return command();
    });
    // The next command waits for this one to finish, or (if it left) for its predecessor.
    const settled = previous.then(() =>
      result.then(
        () => undefined,
        () => undefined,
      ),
    );
    this.commands.set(name, settled);
    void settled.then(() => {
      if (this.commands.get(name) === settled) this.commands.delete(name);
    });
    return result;
  }

  private async loadNow(
    name: string,
    versions?: readonly number[],
    signal?: AbortSignal,
  ): Promise<ModelStatus> {
    if (this.closed) throw unavailable("the server is shutting down");
    const scan = await this.scanOne(name);
    for (const v of versions ?? []) {
      if (!scan.versions.includes(v)) {
        throw notFound(
          `model "${name}" has no version folder ${v} in the repository; versions: ${list(scan.versions)}`,
        );
      }
    }
    let entry = this.entries.get(name);
    if (!entry) {
      entry = createModelEntry(scan, "unloaded");
      this.entries.set(name, entry);
    }
    entry.control = versions ? [...versions] : "policy";
    // A caller that stops waiting does not stop the load (as in Triton): aborting it
    // would leave the version FAILED and the server not ready over an impatient client.
    const loading = this.reconciler.reconcile(entry, scan, { retryFailed: true });
    this.track(loading);
    await raceAbort(loading, signal, abortReasonToError);
    if (scan.configError !== undefined) throw failedPrecondition(scan.configError);
    if (entry.desired.length === 0) throw noVersionToLoad(scan);
    const failed = entry.desired
      .map((v) => versionStatus(entry, v))
      .find((s) => s.state === "failed");
    if (failed) {
      throw failedPrecondition(
        `model "${name}" version ${failed.version} failed to load: ${failed.reason}`,
      );
    }
    return this.get(name);
  }

  private async unloadNow(name: string, version?: number): Promise<ModelStatus> {
    if (!isModelName(name)) throw invalidModelName(name);
    const entry = this.entries.get(name);
    if (!entry) throw this.unknownModel(name);
    if (version === undefined) {
      entry.control = "unloaded";
      entry.gate = undefined;
    } else {
      if (!knownVersions(entry).includes(version)) throw notServable(entry, version);
      entry.control = entry.desired.filter((v) => v !== version);
    }
    await this.reconciler.reconcile(entry, entry.scan, { awaitDrains: true });
    return this.get(name);
  }

  subscribe(listener: (event: RegistryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  isReady(): boolean {
    return this.started && !this.closed && this.notReady().length === 0;
  }

  notReady(): NotReadyVersion[] {
    return this.closed ? [] : readinessBlockers(this.entries.values(), this.started);
  }

  isModelReady(name: string): boolean {
    return this.entries.get(name)?.instances.some((i) => i.state === "ready") ?? false;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.pollTimer);
    await this.polling;
    await Promise.all(this.polled.values());
    const all = [...this.entries.values()].flatMap((e) => e.instances);
    await Promise.all([...all.map((i) => i.retire()), ...this.background]);
  }

  private emit(event: RegistryEvent): void {
    if (event.state === "ready") this.entries.get(event.model)?.gate?.delete(event.version);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log.warn({ error }, "registry event listener threw");
      }
    }
  }

  // --- polling ---------------------------------------------------------------

  private schedulePoll(): void {
    if (this.closed) return;
    this.pollTimer = setTimeout(() => {
      this.polling = this.pollOnce().finally(() => this.schedulePoll());
    }, this.options.pollIntervalMs ?? 5000);
    this.pollTimer.unref();
  }

  private async pollOnce(): Promise<void> {
    let scans: ScannedModel[];
    try {
      scans = await this.scanAll();
    } catch (error) {
      this.log.error({ error }, "model repository poll failed; keeping current models");
      return;
    }
    if (this.closed) return;
    const seen = new Set(scans.map((s) => s.name));
    for (const [name, entry] of this.entries) {
      if (seen.has(name)) continue;
      this.entries.delete(name);
      for (const instance of entry.instances) {
        // A failed record has nothing to drain; it is reported unloaded like the rest.
        if (instance.state === "failed") this.loader.discard(entry, instance);
        else this.track(instance.retire());
      }
    }
    // A load may be slow: it must not hold back the other models' polls. Each model's
    // reconcile runs on its own, and a poll passes over a model whose last one is still
    // loading. Drains (they wait for leases) go on in the background and hold nothing.
    for (const scan of scans) {
      let entry = this.entries.get(scan.name);
      if (!entry) {
        entry = createModelEntry(scan, "policy");
        this.entries.set(scan.name, entry);
      }
      if (this.polled.has(scan.name)) continue;
      const done = this.reconciler
        .reconcile(entry, scan)
        .catch((error: unknown) => this.log.error({ error, model: scan.name }, "poll failed"))
        .finally(() => this.polled.delete(scan.name));
      this.polled.set(scan.name, done);
    }
  }

  // --- helpers ---------------------------------------------------------------

  /** Says at start when the repository is served as one model, and under which name. */
  private logLayout(scans: readonly ScannedModel[]): void {
    const single = scans[0];
    if (single === undefined || single.layout === "repository") return;
    const fields = { model: single.name, layout: single.layout, versions: single.versions };
    if (single.versions.length === 0) {
      this.log.warn(
        fields,
        `the model repository holds neither model.onnx nor version folders (1/model.onnx, ...): model "${single.name}" has nothing to serve`,
      );
    } else if (this.options.modelName !== undefined) {
      this.log.info(fields, "serving the model repository as one model (--model-name)");
    } else {
      this.log.info(
        fields,
        `model.onnx at the top of the model repository: serving it as one model named "${single.name}" after its folder (--model-name sets the name)`,
      );
    }
  }

  private async scanAll(): Promise<ScannedModel[]> {
    try {
      return await scanRepository(this.options.repository, this.scanOptions);
    } catch (error) {
      throw failedPrecondition(
        `cannot read the model repository "${this.options.repository}": ${(error as Error).message}`,
      );
    }
  }

  private async scanOne(name: string): Promise<ScannedModel> {
    if (!isModelName(name)) throw invalidModelName(name);
    try {
      return await scanModel(this.options.repository, name, this.scanOptions);
    } catch (error) {
      if (error instanceof RefusedFolderError) throw failedPrecondition(error.message);
      const names = (await this.scanAll()).map((s) => s.name);
      throw notFound(`model "${name}" is not in the model repository; it has: ${list(names)}`);
    }
  }

  private track(work: Promise<void>): void {
    this.background.add(work);
    const done = () => void this.background.delete(work);
    work.then(done, done);
  }

  private unknownModel(name: string): InferdError {
    return unknownModel(name, [...this.entries.keys()]);
  }
}
