import type { ModelRegistry } from "../registry/model-registry.js";
import { forgetVersionSeries } from "./forget-version-series.js";
import type { InferdMetrics } from "./inferd-metrics.js";
import { recordModelState } from "./model-metrics.js";

/**
 * Keeps `inferd_model_state` in step with the registry's events, and forgets an
 * unloaded version's series (see {@link forgetVersionSeries}) unless the version
 * comes back meanwhile. Returns the unsubscribe function.
 */
export function observeRegistry(
  metrics: InferdMetrics,
  registry: Pick<ModelRegistry, "subscribe">,
): () => void {
  const events = new Map<string, number>();
  return registry.subscribe((event) => {
    const key = `${event.model}\u0000${event.version}`;
    const seen = (events.get(key) ?? 0) + 1;
    events.set(key, seen);
    if (event.state !== "unloaded") {
      recordModelState(metrics, event.model, event.version, event.state);
      return;
    }
    const stillGone = () => events.get(key) === seen;
    void forgetVersionSeries(metrics, event.model, event.version, stillGone).then(() => {
      if (stillGone()) events.delete(key);
    });
  });
}
