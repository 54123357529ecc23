import {
  failedPrecondition,
  type InferdError,
  invalidArgument,
  notFound,
  unavailable,
} from "../errors/inferd-error.js";
import { knownVersions, type ModelEntry, versionStatus } from "./model-entry.js";
import type { ScannedModel } from "./repository-scanner.js";
import { formatVersionPolicy, servingRule, versionsPhrase } from "./served-versions.js";

/** "a, b, c", or "none": for messages that list what exists. */
export const listOrNone = (items: readonly (string | number)[]) =>
  items.length ? items.join(", ") : "none";

/** NotFound for a model the registry does not know, listing the ones it does. */
export function unknownModel(name: string, known: readonly string[]): InferdError {
  return notFound(`model "${name}" not found; models: ${listOrNone([...known].sort())}`);
}

/**
 * InvalidArgument for a name that is not a folder directly inside the repository
 * (`isModelName`): load and unload alike refuse it before touching the disk.
 */
export function invalidModelName(name: string): InferdError {
  return invalidArgument(
    `model name ${JSON.stringify(name)} is not a folder name: a model is a folder directly inside the repository (no "/", "\\" or leading ".")`,
  );
}

/**
 * Why `version` of a known model cannot serve: NotFound when the version exists
 * neither on disk nor in memory, or when the model's serving rule (its version policy
 * or a LoadModel's list) leaves it out, since retrying will not help; else Unavailable
 * with its state and reason (loading, failed, or the model unloaded, which a later
 * load may change).
 */
export function notServable(entry: ModelEntry, version: number): InferdError {
  const known = knownVersions(entry);
  if (!known.includes(version)) {
    return notFound(
      `model "${entry.name}" has no version ${version}; versions: ${listOrNone(known)}`,
    );
  }
  const rule = servingRule(entry);
  if (rule !== undefined && !entry.desired.includes(version)) {
    return notFound(
      `model "${entry.name}" version ${version} is not served: ${rule} serves ${versionsPhrase(entry.desired)}`,
    );
  }
  const status = versionStatus(entry, version);
  const state = status.state === "unloaded" ? "not loaded" : `is ${status.state}`;
  const why = status.reason ? `: ${status.reason}` : "";
  return unavailable(`model "${entry.name}" version ${version} ${state}${why}`);
}

/**
 * Why a load found nothing to load: NotFound when the model folder has no version
 * folder at all, FailedPrecondition when its version policy selects none of them.
 */
export function noVersionToLoad(scan: ScannedModel): InferdError {
  const { name, versions, config } = scan;
  if (versions.length === 0 || config === undefined) {
    return notFound(
      `model "${name}" has no version folder: put the model in <repository>/${name}/<version>/model.onnx, version a positive integer`,
    );
  }
  return failedPrecondition(
    `model "${name}" has no version to load: version_policy ${formatVersionPolicy(config.versionPolicy)} selects none of ${versionsPhrase(versions)}`,
  );
}
