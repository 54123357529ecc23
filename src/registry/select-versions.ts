import type { VersionPolicy } from "./model-config.js";

/**
 * The versions a policy loads out of the folders present (`available`, any order):
 * the newest N, all, or the listed ones that exist. Returned ascending.
 */
export function selectVersions(policy: VersionPolicy, available: readonly number[]): number[] {
  const sorted = [...available].sort((a, b) => a - b);
  if (policy === "all") return sorted;
  if ("latest" in policy) return sorted.slice(Math.max(0, sorted.length - policy.latest));
  return sorted.filter((v) => policy.specific.includes(v));
}
