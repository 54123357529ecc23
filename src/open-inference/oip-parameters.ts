import { invalidArgument } from "../errors/inferd-error.js";
import type { OipParameter, OipParameters } from "./oip-tensor.js";

/**
 * A model version as the protocol sends it: "" (the routing policy chooses) gives
 * undefined, a decimal number its value. Anything else is invalid_argument.
 */
export function parseModelVersion(version: string): number | undefined {
  if (version === "") return undefined;
  if (!/^[0-9]{1,15}$/.test(version) || Number(version) === 0) {
    throw invalidArgument(
      `model version "${version}" is not a version number; send a positive integer, or "" for the model's routing policy`,
    );
  }
  return Number(version);
}

/** An integer parameter >= 0 (int64, uint64 or an integral double), or undefined when absent. */
export function countParameter(
  parameters: OipParameters | undefined,
  key: string,
  where = "request",
): number | undefined {
  const value: OipParameter | undefined = parameters?.[key];
  if (value === undefined) return undefined;
  const n = typeof value === "bigint" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    throw invalidArgument(
      `${where} parameter "${key}" must be an integer >= 0 (int64_param), got ${String(value)}`,
    );
  }
  return n;
}

/** A boolean parameter, false when absent; anything but a bool is invalid_argument. */
export function flagParameter(
  parameters: OipParameters | undefined,
  key: string,
  where = "request",
): boolean {
  const value = parameters?.[key];
  if (value === undefined) return false;
  if (typeof value !== "boolean") {
    throw invalidArgument(
      `${where} parameter "${key}" must be a bool (bool_param), got ${String(value)}`,
    );
  }
  return value;
}

/**
 * Triton's request priority onto inferd's: Triton's levels run 1 (most urgent) to
 * the model's priority_levels, 0 meaning the default; inferd's priority is
 * higher-first in [0, priority_levels - 1]. Level p becomes levels - p. A level
 * past the model's levels is invalid_argument naming the parameter (inferd does not
 * guess what was meant). Without priority levels the parameter is ignored, as
 * Triton ignores it.
 */
export function toInferdPriority(level: number | undefined, levels: number): number | undefined {
  if (level === undefined || level === 0 || levels <= 0) return undefined;
  if (level > levels) {
    throw invalidArgument(
      `request parameter "priority" is ${level} but the model has ${levels} priority levels; send 1 (most urgent) to ${levels}, or 0 for the default`,
    );
  }
  return levels - level;
}
