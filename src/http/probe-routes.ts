import type { ModelRegistry } from "../registry/model-registry.js";
import { type HttpRoute, pathOf, sendJson } from "./http-route.js";

/** What the probes read: the registry's readiness and whether shutdown has started. */
export interface ProbeRoutesOptions {
  registry: Pick<ModelRegistry, "isReady" | "notReady">;
  /** True from the moment shutdown starts: readiness fails so load balancers stop routing. */
  isShuttingDown: () => boolean;
}

/**
 * The server's readiness, the one definition /readyz and the Open Inference Protocol's
 * /v2/health/ready share: the registry is ready and shutdown has not started.
 */
export function isServerReady(options: ProbeRoutesOptions): boolean {
  return !options.isShuttingDown() && options.registry.isReady();
}

/**
 * Kubernetes-style probes: `GET /healthz` answers 200 while the process runs;
 * `GET /readyz` answers 200 when the registry is ready (see `ModelRegistry.isReady`)
 * and the server is not shutting down, else 503 with a JSON body naming what is not
 * ready (see `ModelRegistry.notReady`).
 */
export function createProbeRoutes(options: ProbeRoutesOptions): HttpRoute {
  return (req, res) => {
    const path = pathOf(req);
    if (path !== "/healthz" && path !== "/readyz") return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" });
      res.end();
      return true;
    }
    if (path === "/healthz") {
      sendJson(req, res, 200, { status: "live" });
      return true;
    }
    if (isServerReady(options)) {
      sendJson(req, res, 200, { status: "ready" });
      return true;
    }
    sendJson(req, res, 503, {
      status: "not ready",
      shuttingDown: options.isShuttingDown(),
      notReady: options.registry.notReady(),
    });
    return true;
  };
}
