import { stat } from "node:fs/promises";
import { join } from "node:path";
import {
  failedPrecondition,
  type InferdError,
  notFound,
  unavailable,
} from "../errors/inferd-error.js";
import { effectiveConfigJson } from "./effective-config-json.js";
import { defaultModelConfig, type ModelConfig } from "./model-config.js";
import {
  type Control,
  createModelEntry,
  isLive,
  knownVersions,
  type ModelEntry,
  versionStatus,
} from "./model-entry.js";
import type {
  Lease,
  ModelKind,
  ModelRegistry,
  ModelStatus,
  RegistryEvent,
  Servable,
  VersionState,
} from "./model-registry.js";
import { MODEL_FILE, type ScannedModel, scanModel, scanRepository } from "./repository-scanner.js";
import { routeVersion } from "./route-version.js";
import { selectVersions } from "./select-versions.js";
import { VersionInstance } from "./version-instance.js";

/** Structured logger shape (pino's `info(obj, msg)`), so the registry needs no logging library. */
export interface RegistryLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What the registry asks the server to load: one version of one model. */
export interface VersionLoadRequest {
  readonly model: string;
  readonly version: number;
  /** The version folder `<repo>/<model>/<version>` (tokenizer files live here). */
  readonly dir: string;
  readonly modelPath: string;
  readonly config: ModelConfig;
  readonly kind: ModelKind;
  readonly signal: AbortSignal;
}

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
  /** Explicit mode: models loaded (per their policy) at start. */
  startupModels?: readonly string[];
  logger?: RegistryLogger;
  /** Random source in [0, 1) for weighted routing; tests inject a deterministic one. */
  random?: () => number;
}

const silent: RegistryLogger = { info() {}, warn() {}, error() {} };
const list = (items: readonly (string | number)[]) => (items.length ? items.join(", ") : "none");

/**
 * A {@link ModelRegistry} over a Triton-style folder `<repo>/<model>/<version>/model.onnx`.
 *
 * Readiness (`isReady`): true once `start` settled and every version that should be
 * loaded (by policy, `startupModels` or `load`) is ready. A failed version, or a model
 * whose model.json is invalid and has nothing loaded, makes the server not ready, as
 * in Triton: an operator sees the failure at the readiness probe. A config edit that
 * fails to parse or a version that fails to reload while the previous instance keeps
 * serving does not: readiness follows what serves, the error is in `list()` and logs.
 */
export function createModelRegistry(options: ModelRegistryOptions): ModelRegistry {
  return new RepositoryRegistry(options);
}

class RepositoryRegistry implements ModelRegistry {
  private readonly entries = new Map<string, ModelEntry>();
  private readonly listeners = new Set<(event: RegistryEvent) => void>();
  private readonly log: RegistryLogger;
  private readonly random: () => number;
  private readonly background = new Set<Promise<void>>();
  private started = false;
  private closed = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();

  constructor(private readonly options: ModelRegistryOptions) {
    this.log = options.logger ?? silent;
    this.random = options.random ?? Math.random;
  }

  async start(signal?: AbortSignal): Promise<void> {
    const scans = await this.scanAll();
    const initial: Control = this.options.controlMode === "explicit" ? "unloaded" : "policy";
    for (const scan of scans) this.entries.set(scan.name, createModelEntry(scan, initial));
    for (const name of this.options.startupModels ?? []) {
      const entry = this.entries.get(name);
      if (!entry) throw this.unknownModel(name);
      entry.control = "policy";
    }
    await Promise.all([...this.entries.values()].map((e) => this.reconcile(e, e.scan, signal)));
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
    };
  }

  acquire(name: string, version?: number): Lease {
    if (this.closed) throw unavailable("the server is shutting down");
    const entry = this.entries.get(name);
    if (!entry) throw this.unknownModel(name);
    const ready = entry.instances.filter((i) => i.state === "ready");
    if (version !== undefined) {
      const instance = ready.findLast((i) => i.version === version);
      if (!instance) throw this.notServable(entry, version);
      return this.lease(instance);
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
    return this.lease(instance);
  }

  async load(
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
    await this.reconcile(entry, scan, signal, true);
    if (scan.configError !== undefined) throw failedPrecondition(scan.configError);
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

  async unload(name: string, version?: number): Promise<ModelStatus> {
    const entry = this.entries.get(name);
    if (!entry) throw this.unknownModel(name);
    if (version === undefined) entry.control = "unloaded";
    else {
      if (!knownVersions(entry).includes(version)) throw this.notServable(entry, version);
      entry.control = entry.desired.filter((v) => v !== version);
    }
    await this.reconcile(entry, entry.scan);
    return this.get(name);
  }

  subscribe(listener: (event: RegistryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  isReady(): boolean {
    if (!this.started || this.closed) return false;
    for (const entry of this.entries.values()) {
      if (entry.control === "unloaded") continue;
      if (entry.config === undefined) return false;
      for (const v of entry.desired) {
        if (!entry.instances.some((i) => i.version === v && i.state === "ready")) return false;
      }
    }
    return true;
  }

  isModelReady(name: string): boolean {
    return this.entries.get(name)?.instances.some((i) => i.state === "ready") ?? false;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.pollTimer);
    await this.polling;
    const all = [...this.entries.values()].flatMap((e) => e.instances);
    await Promise.all([...all.map((i) => i.retire()), ...this.background]);
  }

  // --- reconciliation -------------------------------------------------------

  /**
   * Brings one model in line with its scan and control: adopts a changed valid config
   * (reloading live versions), starts missing loads, then retires versions no longer
   * wanted. Decisions are taken synchronously after the file stats, so a concurrent
   * poll and `load` cannot start the same load twice. Resolves when all settle.
   */
  private async reconcile(
    entry: ModelEntry,
    scan: ScannedModel,
    signal?: AbortSignal,
    retryFailed = false,
  ): Promise<void> {
    const stamps = await this.failedStamps(entry);
    entry.scan = scan;
    const reload = this.adoptConfig(entry, scan);
    const config = entry.config;
    const control = entry.control;
    const desired =
      config === undefined || control === "unloaded"
        ? []
        : control === "policy"
          ? selectVersions(config.versionPolicy, scan.versions)
          : scan.versions.filter((v) => control.includes(v));
    entry.desired = desired;
    const work: Promise<void>[] = [];
    // Nothing serves from these, so they go at once: failed records and loads in progress.
    for (const instance of [...entry.instances]) {
      const stale = !desired.includes(instance.version) || reload;
      if (!stale) continue;
      if (instance.state === "failed") this.remove(entry, instance);
      else if (instance.state === "loading") work.push(instance.retire());
    }
    for (const v of desired) {
      const mine = entry.instances.filter((i) => i.version === v);
      const failed = mine.find((i) => i.state === "failed");
      const changed = failed !== undefined && (retryFailed || stamps.get(failed) !== failed.stamp);
      if (changed) for (const f of mine.filter((i) => i.state === "failed")) this.remove(entry, f);
      const ready = mine.some((i) => i.state === "ready");
      const loading = mine.some((i) => i.state === "loading" && !i.isRetiring);
      if (config && !loading && (reload || (!ready && (failed === undefined || changed)))) {
        work.push(this.startLoad(entry, v, config, signal));
      }
    }
    await Promise.all(work);
    await this.retireUnwanted(entry);
  }

  /**
   * Drains ready versions the model no longer wants, only once a wanted version is
   * ready (or none is wanted, or the folder is gone): a replacement that is still
   * loading or failed never leaves the model without a serving version.
   */
  private async retireUnwanted(entry: ModelEntry): Promise<void> {
    const { desired } = entry;
    const ready = entry.instances.filter((i) => i.state === "ready");
    const covered = desired.length === 0 || ready.some((i) => desired.includes(i.version));
    const unwanted = ready.filter((i) => !desired.includes(i.version));
    const work: Promise<void>[] = [];
    for (const instance of unwanted) {
      if (covered || !entry.scan.versions.includes(instance.version)) work.push(instance.retire());
      else {
        const fields = { model: entry.name, version: instance.version };
        this.log.warn(fields, "keeping version serving until a wanted version is ready");
      }
    }
    await Promise.all(work);
  }

  /** Takes a valid, changed model.json as the model's config; returns true to reload live versions. */
  private adoptConfig(entry: ModelEntry, scan: ScannedModel): boolean {
    if (scan.configError !== undefined) {
      if (entry.reason !== scan.configError) {
        this.log.error({ model: entry.name, reason: scan.configError }, "invalid model config");
      }
      entry.reason = scan.configError;
      return false;
    }
    entry.reason = undefined;
    if (entry.config !== undefined && scan.configText === entry.configText) return false;
    const hadConfig = entry.config !== undefined;
    entry.config = scan.config;
    entry.configText = scan.configText;
    entry.kind = scan.kind;
    const reload = hadConfig && entry.instances.some(isLive);
    if (reload) this.log.info({ model: entry.name }, "model config changed; reloading");
    return reload;
  }

  private startLoad(
    entry: ModelEntry,
    version: number,
    config: ModelConfig,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const instance = new VersionInstance(entry.name, version, config, entry.kind, (i, s, r) =>
      this.onState(entry, i, s, r),
    );
    entry.instances.push(instance);
    this.onState(entry, instance, "loading");
    const dir = join(entry.scan.dir, String(version));
    const modelPath = join(dir, MODEL_FILE);
    return instance.load(async (own) => {
      instance.stamp = await modelStamp(modelPath);
      if (instance.stamp < 0) throw new Error(`${modelPath} does not exist`);
      const both = signal ? AbortSignal.any([own, signal]) : own;
      const request = { model: entry.name, version, dir, modelPath, config, kind: entry.kind };
      return this.options.loadVersion({ ...request, signal: both });
    });
  }

  private onState(
    entry: ModelEntry,
    instance: VersionInstance,
    state: VersionState,
    reason?: string,
  ): void {
    const fields = { model: entry.name, version: instance.version, state, reason };
    if (state === "failed") this.log.error(fields, "model version failed to load");
    else this.log.info(fields, `model version ${state}`);
    if (state === "unloaded") this.remove(entry, instance);
    const event: RegistryEvent = {
      model: entry.name,
      version: instance.version,
      state,
      ...(reason !== undefined && { reason }),
      time: new Date(),
    };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log.warn({ error }, "registry event listener threw");
      }
    }
    if (state === "ready") {
      // Hot swap: the new instance takes traffic now; older ones of this version drain.
      const older = entry.instances.slice(0, entry.instances.indexOf(instance));
      for (const old of older) {
        if (old.version !== instance.version) continue;
        if (isLive(old)) this.track(old.retire());
        else if (old.state === "failed") this.remove(entry, old);
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
    const work: Promise<void>[] = [];
    for (const [name, entry] of this.entries) {
      if (seen.has(name)) continue;
      this.entries.delete(name);
      work.push(...entry.instances.map((i) => i.retire()));
    }
    for (const scan of scans) {
      let entry = this.entries.get(scan.name);
      if (!entry) {
        entry = createModelEntry(scan, "policy");
        this.entries.set(scan.name, entry);
      }
      work.push(this.reconcile(entry, scan));
    }
    await Promise.all(work);
  }

  // --- helpers ---------------------------------------------------------------

  private async scanAll(): Promise<ScannedModel[]> {
    try {
      return await scanRepository(this.options.repository);
    } catch (error) {
      throw failedPrecondition(
        `cannot read the model repository "${this.options.repository}": ${(error as Error).message}`,
      );
    }
  }

  private async scanOne(name: string): Promise<ScannedModel> {
    try {
      return await scanModel(this.options.repository, name);
    } catch {
      const names = (await this.scanAll()).map((s) => s.name);
      throw notFound(
        `model "${name}" is not in the repository "${this.options.repository}"; it has: ${list(names)}`,
      );
    }
  }

  private async failedStamps(entry: ModelEntry): Promise<Map<VersionInstance, number>> {
    const failed = entry.instances.filter((i) => i.state === "failed");
    const stamps = await Promise.all(
      failed.map((i) => modelStamp(join(entry.scan.dir, String(i.version), MODEL_FILE))),
    );
    return new Map(failed.map((i, n) => [i, stamps[n] ?? -1]));
  }

  private lease(instance: VersionInstance): Lease {
    const servable = instance.servable as Servable;
    instance.acquire();
    let released = false;
    return {
      model: instance.model,
      version: instance.version,
      servable,
      config: instance.config,
      release: () => {
        if (released) return;
        released = true;
        instance.release();
      },
    };
  }

  private remove(entry: ModelEntry, instance: VersionInstance): void {
    entry.instances = entry.instances.filter((i) => i !== instance);
  }

  private track(work: Promise<void>): void {
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }

  private unknownModel(name: string): InferdError {
    return notFound(`model "${name}" not found; models: ${list([...this.entries.keys()].sort())}`);
  }

  private notServable(entry: ModelEntry, version: number): InferdError {
    const known = knownVersions(entry);
    if (!known.includes(version)) {
      return notFound(`model "${entry.name}" has no version ${version}; versions: ${list(known)}`);
    }
    const status = versionStatus(entry, version);
    const state = status.state === "unloaded" ? "not loaded" : `is ${status.state}`;
    const why = status.reason ? `: ${status.reason}` : "";
    return unavailable(`model "${entry.name}" version ${version} ${state}${why}`);
  }
}

async function modelStamp(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.mtimeMs,
    () => -1,
  );
}
