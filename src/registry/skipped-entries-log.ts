import type { SkippedEntry } from "./folder-entries.js";
import type { RegistryLogger } from "./registry-logger.js";

/** Entries remembered at most; past it the memory restarts (and may log an entry again). */
const REMEMBERED = 10_000;

/**
 * An `onSkip` that logs each skipped repository entry once per reason: a poll rescans
 * the repository every few seconds and must not repeat itself. Hidden entries (kept
 * on purpose) are logged at info, the rest at warn: a symlink not followed or a
 * misnamed version folder is likely a model someone expects to be served.
 */
export function logSkippedOnce(log: RegistryLogger): (skipped: SkippedEntry) => void {
  const logged = new Map<string, string>();
  return ({ path, reason, hidden }) => {
    if (logged.get(path) === reason) return;
    if (logged.size >= REMEMBERED) logged.clear();
    logged.set(path, reason);
    const fields = { entry: path, reason };
    if (hidden) log.info(fields, "model repository entry skipped");
    else log.warn(fields, "model repository entry skipped");
  };
}
