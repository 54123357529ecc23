import { join } from "node:path";
import { isLive, type ModelEntry } from "./model-entry.js";
import { MODEL_FILE, versionDir } from "./model-layout.js";
import type { RegistryLogger } from "./registry-logger.js";
import type { ScannedModel } from "./repository-scanner.js";
import { selectVersions } from "./select-versions.js";
import { routingWarnings } from "./served-versions.js";
import type { VersionInstance } from "./version-instance.js";
import { modelStamp, removeInstance, type VersionLoader } from "./version-loader.js";

/** How one reconcile pass runs: its abort signal, retries of failed versions, and whether it waits for drains. */
export interface ReconcileOptions {
  /** Aborts the loads this reconcile starts. */
  readonly signal?: AbortSignal | undefined;
  /** Also retry failed versions whose file did not change (an explicit load). */
  readonly retryFailed?: boolean;
  /**
   * Resolve only once unwanted versions have drained (an unload answers when its
   * version is gone). Otherwise their drains, which wait for leases (a Generate stream
   * holds one for minutes), go on in the background: a rollout, a rollback or a
   * `load` of the same model must not wait for them.
   */
  readonly awaitDrains?: boolean;
}

/** Brings a model's loaded versions in line with its folder, config and control. */
export interface ModelReconciler {
  /**
   * Adopts a changed valid config (reloading live versions), starts missing loads,
   * then retires versions no longer wanted. Decisions are taken synchronously after
   * the file stats, so a concurrent poll and `load` cannot start the same load twice.
   * Resolves when the loads settle (and the drains, with `awaitDrains`).
   */
  reconcile(entry: ModelEntry, scan: ScannedModel, options?: ReconcileOptions): Promise<void>;
}

/**
 * Creates the {@link ModelReconciler} over a {@link VersionLoader}; `track` keeps
 * drains that outlive a reconcile (awaited when the registry closes).
 */
export function createModelReconciler(
  loader: VersionLoader,
  log: RegistryLogger,
  track: (work: Promise<void>) => void,
): ModelReconciler {
  return {
    async reconcile(entry, scan, options = {}) {
      const { signal, retryFailed = false } = options;
      const stamps = await fileStamps(entry);
      entry.scan = scan;
      const reload = adoptConfig(entry, scan, log);
      const { config } = entry;
      const desired = desiredVersions(entry, scan);
      entry.desired = desired;
      updateWarnings(entry, log);
      const work: Promise<void>[] = [];
      // Nothing serves from these, so they go at once: failed records and loads in progress.
      for (const instance of [...entry.instances]) {
        const unwanted = !desired.includes(instance.version);
        if (!unwanted && !reload) continue;
        if (instance.state === "failed") {
          // Unwanted: the version is gone for good, so say so; on reload a new load follows.
          if (unwanted) loader.discard(entry, instance);
          else removeInstance(entry, instance);
        } else if (instance.state === "loading") work.push(instance.retire());
      }
      for (const v of desired) {
        const mine = entry.instances.filter((i) => i.version === v);
        const failed = mine.find((i) => i.state === "failed");
        const changed =
          failed !== undefined && (retryFailed || stamps.get(failed) !== failed.stamp);
        if (changed) {
          for (const f of mine.filter((i) => i.state === "failed")) removeInstance(entry, f);
        }
        const ready = mine.some((i) => i.state === "ready");
        const loading = mine.some((i) => i.state === "loading" && !i.isRetiring);
        const replaced = fileReplaced(mine, stamps);
        if (replaced) log.info({ model: entry.name, version: v }, "model file changed; reloading");
        if (
          config &&
          !loading &&
          (reload || replaced || (!ready && (failed === undefined || changed)))
        ) {
          work.push(loader.start(entry, v, config, signal));
        }
      }
      await Promise.all(work);
      const drains = retireUnwanted(entry, log);
      if (!options.awaitDrains) for (const drain of drains) track(drain);
      else {
        // Also the drains an earlier reconcile left in the background (retire is idempotent).
        const gone = entry.instances.filter((i) => i.isRetiring && !desired.includes(i.version));
        await Promise.all([...drains, ...gone.map((i) => i.retire())]);
      }
    },
  };
}

function desiredVersions(entry: ModelEntry, scan: ScannedModel): readonly number[] {
  const { config, control } = entry;
  if (config === undefined || control === "unloaded") return [];
  if (control === "policy") return selectVersions(config.versionPolicy, scan.versions);
  return scan.versions.filter((v) => control.includes(v));
}

/**
 * Starts draining ready versions the model no longer wants, only once a wanted
 * version is ready (or none is wanted, or the folder is gone): a replacement that is
 * still loading or failed never leaves the model without a serving version.
 */
function retireUnwanted(entry: ModelEntry, log: RegistryLogger): Promise<void>[] {
  const { desired } = entry;
  const ready = entry.instances.filter((i) => i.state === "ready");
  const covered = desired.length === 0 || ready.some((i) => desired.includes(i.version));
  const unwanted = ready.filter((i) => !desired.includes(i.version));
  const work: Promise<void>[] = [];
  for (const instance of unwanted) {
    if (covered || !entry.scan.versions.includes(instance.version)) work.push(instance.retire());
    else {
      const fields = { model: entry.name, version: instance.version };
      log.warn(fields, "keeping version serving until a wanted version is ready");
    }
  }
  return work;
}

/** Recomputes the model's warnings, logging each new one once (at load, and when it changes). */
function updateWarnings(entry: ModelEntry, log: RegistryLogger): void {
  const warnings = routingWarnings(entry);
  for (const warning of warnings) {
    if (!entry.warnings.includes(warning)) log.warn({ model: entry.name, warning }, warning);
  }
  entry.warnings = warnings;
}

/** Takes a valid, changed model.json as the model's config; returns true to reload live versions. */
function adoptConfig(entry: ModelEntry, scan: ScannedModel, log: RegistryLogger): boolean {
  if (scan.configError !== undefined) {
    if (entry.reason !== scan.configError) {
      log.error({ model: entry.name, reason: scan.configError }, "invalid model config");
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
  if (reload) log.info({ model: entry.name }, "model config changed; reloading");
  return reload;
}

/**
 * The model file's stamp now, for each failed or ready instance: a changed file
 * deserves a retry of a failed load, and a reload of a serving version (as Triton's
 * poll mode does when a model file is replaced in place).
 */
async function fileStamps(entry: ModelEntry): Promise<Map<VersionInstance, number>> {
  const watched = entry.instances.filter((i) => i.state === "failed" || i.state === "ready");
  const stamps = await Promise.all(
    watched.map((i) => modelStamp(join(versionDir(entry.scan, i.version), MODEL_FILE))),
  );
  return new Map(watched.map((i, n) => [i, stamps[n] ?? -1]));
}

/**
 * True when the serving instance of a version was loaded from an older model file
 * and this file was not already tried (a failed load of it keeps the old one serving
 * until the file changes again).
 */
function fileReplaced(
  mine: readonly VersionInstance[],
  stamps: ReadonlyMap<VersionInstance, number>,
): boolean {
  const ready = mine.find((i) => i.state === "ready" && !i.isRetiring);
  const now = ready === undefined ? undefined : stamps.get(ready);
  if (ready === undefined || now === undefined || now < 0 || now === ready.stamp) return false;
  return !mine.some((i) => i.state === "failed" && i.stamp === now);
}
