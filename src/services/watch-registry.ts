import { releaseOnAbort } from "../connect-adapter/release-on-abort.js";
import type { ModelRegistry, RegistryEvent } from "../registry/model-registry.js";

/** One event per existing version, giving its current state. */
function currentEvents(registry: ModelRegistry, model: string | undefined): RegistryEvent[] {
  const time = new Date();
  return registry
    .list()
    .filter((m) => model === undefined || m.name === model)
    .flatMap((m) =>
      m.versions.map((v) => ({
        model: m.name,
        version: v.version,
        state: v.state,
        ...(v.reason !== undefined && { reason: v.reason }),
        time,
      })),
    );
}

/**
 * Registry events as an async iterable, optionally only one model's, optionally
 * starting with the current state of every version. Ends (cleanly) when `signal`
 * aborts. Subscribes before taking the snapshot so no event falls in between.
 */
export async function* watchRegistry(
  registry: ModelRegistry,
  model: string | undefined,
  includeCurrent: boolean,
  signal: AbortSignal,
): AsyncGenerator<RegistryEvent> {
  const buffer: RegistryEvent[] = [];
  let wake: (() => void) | undefined;
  const stop = registry.subscribe((event) => {
    if (model !== undefined && event.model !== model) return;
    buffer.push(event);
    wake?.();
  });
  // Unsubscribe on abort itself, not only in `finally`: a cancelled stream may leave
  // this generator suspended at a yield that is never resumed.
  const unsubscribe = releaseOnAbort(signal, () => {
    stop();
    wake?.();
  });
  try {
    if (includeCurrent) yield* currentEvents(registry, model);
    while (!signal.aborted) {
      const event = buffer.shift();
      if (event !== undefined) {
        yield event;
        continue;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    unsubscribe();
  }
}
