import { type ModelEntry, versionStatus } from "./model-entry.js";
import type { NotReadyVersion } from "./model-registry.js";

/**
 * What keeps the server from being ready, given the registry's entries. Before
 * `start` has settled: every version loading or failed. After: only what `start`
 * was to load and has not been ready since (each entry's `gate`), and models present at
 * start whose model.json never parsed. A version that loads or fails later (a
 * rollout on a shared volume, a new model, a `LoadModel`) never counts: every
 * replica polling that volume would leave its load balancer at once while serving.
 * Its failure is in `list()`, the logs, metrics and WatchModels, and a LoadModel
 * caller gets it as the call's error.
 */
export function readinessBlockers(
  entries: Iterable<ModelEntry>,
  started: boolean,
): NotReadyVersion[] {
  const out: NotReadyVersion[] = [];
  for (const entry of entries) {
    if (entry.control === "unloaded") continue;
    if (started && entry.gate === undefined) continue;
    if (entry.config === undefined) {
      // No valid model.json yet: failed when it did not parse, else not read yet.
      const state = entry.reason === undefined ? "loading" : "failed";
      out.push({
        model: entry.name,
        state,
        ...(entry.reason !== undefined && { reason: entry.reason }),
      });
      continue;
    }
    for (const version of entry.desired) {
      if (started && !entry.gate?.has(version)) continue;
      const status = versionStatus(entry, version);
      if (status.state === "ready") continue;
      const blocker: NotReadyVersion = { model: entry.name, version, state: status.state };
      if (status.reason !== undefined) blocker.reason = status.reason;
      out.push(blocker);
    }
  }
  return out;
}
