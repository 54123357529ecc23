import type { Lease, Servable } from "./model-registry.js";
import type { VersionInstance } from "./version-instance.js";

/**
 * Leases a ready instance: counts a request in flight until `release` (idempotent),
 * so that a draining instance waits for it before disposing of its servable.
 */
export function leaseVersion(instance: VersionInstance): Lease {
  const servable = instance.servable as Servable;
  instance.acquire();
  let released = false;
  return {
    model: instance.model,
    version: instance.version,
    servable,
    config: instance.config,
    statistics: instance.statistics,
    release: () => {
      if (released) return;
      released = true;
      instance.release();
    },
  };
}
