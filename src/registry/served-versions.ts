import type { VersionPolicy } from "./model-config.js";
import type { ModelEntry } from "./model-entry.js";

/** "version 2", "versions 1, 3", or "no version": for messages about a set of versions. */
export function versionsPhrase(versions: readonly number[]): string {
  if (versions.length === 0) return "no version";
  return `${versions.length === 1 ? "version" : "versions"} ${versions.join(", ")}`;
}

/** A version policy as model.json spells it, for messages: "latest 1", "all", "specific [1, 3]". */
export function formatVersionPolicy(policy: VersionPolicy): string {
  if (policy === "all") return "all";
  if ("latest" in policy) return `latest ${policy.latest}`;
  return `specific [${policy.specific.join(", ")}]`;
}

/**
 * The model's `version_policy` as a rule that decides which versions serve, for
 * messages. Undefined when the policy does not decide: the model is unloaded, has no
 * valid config, or serves the versions a LoadModel listed or an UnloadModel left (an
 * operator's command, which the next may change, so such a version stays retryable).
 */
export function servingRule(entry: ModelEntry): string | undefined {
  if (entry.config === undefined || entry.control !== "policy") return undefined;
  return `version_policy ${formatVersionPolicy(entry.config.versionPolicy)}`;
}

/**
 * Warnings about a model's routing: weights (above 0) on versions its serving rule
 * leaves out. Such a share is silently spread over the served versions by
 * `routeVersion` (or, with no served version weighted, all goes to the newest), which
 * an operator who wrote the weights would not expect. Empty when there is nothing to say.
 */
export function routingWarnings(entry: ModelEntry): string[] {
  const rule = servingRule(entry);
  const routing = entry.config?.routing;
  if (rule === undefined || routing?.policy !== "weighted") return [];
  const weighted = [...routing.weights].filter(([, w]) => w > 0).map(([v]) => v);
  const unserved = weighted.filter((v) => !entry.desired.includes(v)).sort((a, b) => a - b);
  if (unserved.length === 0) return [];
  const one = unserved.length === 1;
  const named = `routing weights name ${versionsPhrase(unserved)}, which ${rule} does not serve (it serves ${versionsPhrase(entry.desired)})`;
  const servedWeighted = weighted.some((v) => entry.desired.includes(v));
  const outcome = servedWeighted
    ? `${one ? "its" : "their"} share goes to the served versions`
    : "unpinned requests all go to the newest served version";
  return [`${named}: ${outcome}`];
}
