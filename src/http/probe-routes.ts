import type { ModelRegistry } from "../registry/model-registry.js";
import { type HttpRoute, pathOf, sendJson } from "./http-route.js";

export interface ProbeRoutesOptions {
  registry: Pick<ModelRegistry, "isReady" | "list">;
  /** True from the moment shutdown starts: readiness fails so load balancers stop routing. */
  isShuttingDown: () => boolean;
}

/** A model version that keeps the server from being ready. */
export interface NotReadyVersion {
  model: string;
  version?: number;
  state: string;
  reason?: string;
}

/**
 * Kubernetes-style probes: `GET /healthz` answers 200 while the process runs;
 * `GET /readyz` answers 200 when the registry is ready (see `ModelRegistry.isReady`)
 * and the server is not shutting down, else 503 with a JSON body naming what is not
 * ready (loading or failed versions, models whose configuration is broken).
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
    const shuttingDown = options.isShuttingDown();
    if (!shuttingDown && options.registry.isReady()) {
      sendJson(req, res, 200, { status: "ready" });
      return true;
    }
    sendJson(req, res, 503, {
      status: "not ready",
      shuttingDown,
      notReady: notReady(options.registry),
    });
    return true;
  };
}

function notReady(registry: Pick<ModelRegistry, "list">): NotReadyVersion[] {
  const out: NotReadyVersion[] = [];
  for (const model of registry.list()) {
    if (model.reason !== undefined)
      out.push({ model: model.name, state: "failed", reason: model.reason });
    for (const v of model.versions) {
      if (v.state !== "loading" && v.state !== "failed") continue;
      const entry: NotReadyVersion = { model: model.name, version: v.version, state: v.state };
      if (v.reason !== undefined) entry.reason = v.reason;
      out.push(entry);
    }
  }
  return out;
}
