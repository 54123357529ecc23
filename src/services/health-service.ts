import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import { releaseOnAbort } from "../connect-adapter/release-on-abort.js";
import { isInferdError } from "../errors/inferd-error.js";
import type { ModelRegistry } from "../registry/model-registry.js";
import { withErrorMapping } from "./with-error-mapping.js";

/** Options of `createHealthService`: what serving means, overall and per model. */
export interface HealthServiceOptions {
  /**
   * `isReady` answers for the server (as `/readyz` does); `get` tells known models
   * from unknown, `isModelReady` their readiness.
   */
  registry: Pick<ModelRegistry, "get" | "isModelReady" | "isReady" | "subscribe">;
  /** Aborted when the server starts shutting down: from then on everything is NOT_SERVING. */
  shutdownSignal: AbortSignal;
  /** Settles when the registry's start has; Watch("") re-checks then (no event marks it). */
  started?: Promise<unknown>;
  /**
   * How often a Watch re-checks besides registry events (default 1 s): readiness can
   * change with no version event, e.g. a model whose model.json never parsed (which
   * holds readiness) is removed from the repository.
   */
  recheckMs?: number;
}

/**
 * Registers `grpc.health.v1.Health`. Service "" is the server, SERVING while it is
 * ready (`ModelRegistry.isReady`, the same answer as `GET /readyz`, so a Kubernetes
 * gRPC readiness probe matches the HTTP one) and not shutting down. So is the name of
 * every service registered on the same router ("inferd.v1.InferenceService",
 * "grpc.health.v1.Health", ...), read from the router rather than listed, so that a
 * service added later is covered: conventional per-service probes ask for those. Any
 * other name is a model, SERVING while it has a ready version.
 * Check on an unknown model fails NotFound; Watch reports SERVICE_UNKNOWN and
 * keeps watching, since the model may appear later (poll or explicit mode).
 */
export function createHealthService(
  options: HealthServiceOptions,
): (router: ConnectRouter) => void {
  const { registry, shutdownSignal } = options;
  let services: () => ReadonlySet<string> = () => new Set();
  /** undefined: no such service or model. */
  const statusOf = (service: string): ServingStatus | undefined => {
    if (service === "" || services().has(service)) {
      const serving = !shutdownSignal.aborted && registry.isReady();
      return serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    }
    try {
      registry.get(service);
    } catch (error) {
      if (isInferdError(error) && error.kind === "not_found") return undefined;
      throw error;
    }
    if (shutdownSignal.aborted) return ServingStatus.NOT_SERVING;
    return registry.isModelReady(service) ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  };
  return (router) => {
    services = registeredServices(router);
    // Mapped like the other services, so a Watch cut by its deadline ends DeadlineExceeded.
    router.service(
      Health,
      withErrorMapping(Health, {
        check(request) {
          const status = statusOf(request.service);
          if (status === undefined) {
            throw new ConnectError(`unknown service or model "${request.service}"`, Code.NotFound);
          }
          return { status };
        },
        async *watch(request, context) {
          yield* watchStatus(() => statusOf(request.service) ?? ServingStatus.SERVICE_UNKNOWN, {
            registry,
            shutdownSignal,
            context,
            ...(options.started && { started: options.started }),
            recheckMs: options.recheckMs ?? 1000,
          });
        },
      }),
    );
  };
}

/**
 * The type names of the services on `router`, read at the first call: by then every
 * service is registered (calls come only once the router is built).
 */
function registeredServices(router: ConnectRouter): () => ReadonlySet<string> {
  let names: ReadonlySet<string> | undefined;
  return () => {
    names ??= new Set(router.handlers.map((handler) => handler.service.typeName));
    return names;
  };
}

/** Yields the current status, then each change, until the client goes away. */
async function* watchStatus(
  current: () => ServingStatus,
  sources: {
    registry: Pick<ModelRegistry, "subscribe">;
    shutdownSignal: AbortSignal;
    context: HandlerContext;
    started?: Promise<unknown>;
    recheckMs: number;
  },
): AsyncGenerator<{ status: ServingStatus }> {
  // `dirty` records events that arrive while the generator is suspended at a yield.
  let dirty = true;
  let wake: (() => void) | undefined;
  const poke = () => {
    dirty = true;
    wake?.();
  };
  const unsubscribe = sources.registry.subscribe(poke);
  const recheck = setInterval(poke, sources.recheckMs);
  recheck.unref();
  sources.shutdownSignal.addEventListener("abort", poke);
  // Connect can leave a generator suspended at a yield when its client leaves, so the
  // finally below may never run: the abort releases the listener and the timer too,
  // and wakes the loop so that it ends.
  const release = releaseOnAbort(sources.context.signal, () => {
    clearInterval(recheck);
    unsubscribe();
    sources.shutdownSignal.removeEventListener("abort", poke);
    poke();
  });
  void sources.started?.then(poke, poke);
  let last: ServingStatus | undefined;
  try {
    while (!sources.context.signal.aborted) {
      if (!dirty) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      dirty = false;
      if (sources.context.signal.aborted) break;
      const status = current();
      if (status !== last) {
        last = status;
        yield { status };
      }
    }
  } finally {
    release();
  }
}
