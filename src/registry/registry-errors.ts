import { type InferdError, notFound, unavailable } from "../errors/inferd-error.js";
import { knownVersions, type ModelEntry, versionStatus } from "./model-entry.js";

/** "a, b, c", or "none": for messages that list what exists. */
export const listOrNone = (items: readonly (string | number)[]) =>
  items.length ? items.join(", ") : "none";

/** NotFound for a model the registry does not know, listing the ones it does. */
export function unknownModel(name: string, known: readonly string[]): InferdError {
  return notFound(`model "${name}" not found; models: ${listOrNone([...known].sort())}`);
}

/**
 * Why `version` of a known model cannot serve: NotFound when the version exists
 * neither on disk nor in memory, else Unavailable with its state and reason.
 */
export function notServable(entry: ModelEntry, version: number): InferdError {
  const known = knownVersions(entry);
  if (!known.includes(version)) {
    return notFound(
      `model "${entry.name}" has no version ${version}; versions: ${listOrNone(known)}`,
    );
  }
  const status = versionStatus(entry, version);
  const state = status.state === "unloaded" ? "not loaded" : `is ${status.state}`;
  const why = status.reason ? `: ${status.reason}` : "";
  return unavailable(`model "${entry.name}" version ${version} ${state}${why}`);
}
