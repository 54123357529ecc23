import { stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { ModelConfig } from "./model-config.js";
import { isLive, type ModelEntry } from "./model-entry.js";
import { MODEL_FILE, repositoryOf, versionDir } from "./model-layout.js";
import type { RegistryEvent, Servable, VersionState } from "./model-registry.js";
import type { RegistryLogger } from "./registry-logger.js";
import { VersionInstance } from "./version-instance.js";
import type { VersionLoadRequest } from "./version-load-request.js";

/** What the version loader needs from the registry: how to load, log, emit events and track drains. */
export interface VersionLoaderOptions {
  readonly loadVersion: (request: VersionLoadRequest) => Promise<Servable>;
  readonly log: RegistryLogger;
  /** Every state change of every instance, as a registry event. */
  readonly emit: (event: RegistryEvent) => void;
  /** Work that outlives the call that started it (a hot swap's drain); awaited on close. */
  readonly track: (work: Promise<void>) => void;
}

/** Starts loads of model versions and keeps each entry's instance list in step with their states. */
export interface VersionLoader {
  /** Adds a loading instance of `version` to the entry; resolves when it is ready or failed. */
  start(
    entry: ModelEntry,
    version: number,
    config: ModelConfig,
    signal: AbortSignal | undefined,
  ): Promise<void>;
  /** Drops a failed version no longer wanted, reporting it unloaded (events, metrics, logs). */
  discard(entry: ModelEntry, instance: VersionInstance): void;
}

/** Creates the {@link VersionLoader}. */
export function createVersionLoader(options: VersionLoaderOptions): VersionLoader {
  const { log } = options;
  const onState = (
    entry: ModelEntry,
    instance: VersionInstance,
    state: VersionState,
    reason?: string,
  ) => {
    const fields = { model: entry.name, version: instance.version, state, reason };
    if (state === "failed") log.error(fields, "model version failed to load");
    else log.info(fields, `model version ${state}`);
    // An instance replaced by a newer one of its version (a reload) drains and unloads
    // while the version itself stays ready: events and metrics speak of versions, so
    // only the log hears of it.
    const index = entry.instances.indexOf(instance);
    const superseded = entry.instances.some(
      (other, i) => i > index && other.version === instance.version,
    );
    if (state === "unloaded") removeInstance(entry, instance);
    if (superseded && (state === "draining" || state === "unloaded")) return;
    // A reload that fails leaves the older instance serving: the version is still ready,
    // as GetModel says ("reload failed: ..."), and so say events and metrics.
    const serving = entry.instances.some(
      (other, i) => i < index && other.version === instance.version && other.state === "ready",
    );
    const shown = state === "failed" && serving ? "ready" : state;
    const shownReason = shown !== state ? `reload failed: ${reason}` : reason;
    options.emit({
      model: entry.name,
      version: instance.version,
      state: shown,
      ...(shownReason !== undefined && { reason: shownReason }),
      time: new Date(),
    });
    if (state === "ready") {
      // Hot swap: the new instance takes traffic now; older ones of this version drain.
      const older = entry.instances.slice(0, entry.instances.indexOf(instance));
      for (const old of older) {
        if (old.version !== instance.version) continue;
        if (isLive(old)) options.track(old.retire());
        else if (old.state === "failed") removeInstance(entry, old);
      }
    }
  };
  return {
    discard(entry, instance) {
      onState(entry, instance, "unloaded");
    },
    start(entry, version, config, signal) {
      const instance = new VersionInstance(entry.name, version, config, entry.kind, (i, s, r) =>
        onState(entry, i, s, r),
      );
      entry.instances.push(instance);
      onState(entry, instance, "loading");
      const dir = versionDir(entry.scan, version);
      const modelPath = join(dir, MODEL_FILE);
      const repository = repositoryOf(entry.scan);
      return instance.load(async (own) => {
        instance.stamp = await modelStamp(modelPath);
        if (instance.stamp < 0) {
          throw new Error(`${relative(repository, modelPath)} does not exist`);
        }
        const both = signal ? AbortSignal.any([own, signal]) : own;
        const request = { model: entry.name, version, dir, modelPath, config, kind: entry.kind };
        const { statistics } = instance;
        try {
          return await options.loadVersion({ ...request, signal: both, statistics });
        } catch (error) {
          throw withinRepository(error, repository);
        }
      });
    },
  };
}

/**
 * The load error with the repository's own path cut out of its message ("cannot load
 * ONNX model multi_io/1/model.onnx"): the reason reaches clients through GetModel,
 * LoadModel and WatchModels, which need not learn where the server keeps its files.
 */
function withinRepository(error: unknown, repository: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new Error(message.replaceAll(`${repository}${sep}`, ""), { cause: error });
}

/** Drops an instance from its entry's list (unloaded, or a failed record replaced). */
export function removeInstance(entry: ModelEntry, instance: VersionInstance): void {
  entry.instances = entry.instances.filter((i) => i !== instance);
}

/** model.onnx's modification time, or -1 when it is missing: tells a fixed file from a failed one. */
export async function modelStamp(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.mtimeMs,
    () => -1,
  );
}
