import type { RoutingPolicy } from "./model-config.js";

/**
 * Picks the version an unpinned request goes to among `ready` (non-empty). "newest"
 * takes the highest version. "weighted" draws with `random()` in [0, 1) in proportion
 * to the weights of the ready versions only, so the share of a version that is not
 * ready is spread over the others in proportion; if no ready version has weight, it
 * falls back to the newest so traffic never stops.
 */
export function routeVersion(
  policy: RoutingPolicy,
  ready: readonly number[],
  random: () => number,
): number {
  const sorted = [...ready].sort((a, b) => a - b);
  const newest = sorted.at(-1);
  if (newest === undefined) throw new Error("routeVersion needs at least one ready version");
  if (policy.policy === "newest") return newest;
  const weighted = sorted.map((v) => [v, policy.weights.get(v) ?? 0] as const);
  const total = weighted.reduce((sum, [, w]) => sum + w, 0);
  if (total <= 0) return newest;
  let point = random() * total;
  for (const [version, weight] of weighted) {
    if (weight > 0 && point < weight) return version;
    point -= weight;
  }
  // Floating-point leftovers land on the last weighted version.
  return weighted.filter(([, w]) => w > 0).at(-1)?.[0] ?? newest;
}
