import { type HttpRoute, pathOf } from "../http-route.js";
import { isServerReady, type ProbeRoutesOptions } from "../probe-routes.js";

/**
 * `GET /v2/health/live` and `GET /v2/health/ready`, the spec's probes: the status is
 * the answer (200 true, 400 false, as Triton answers) and the body is empty. Ready
 * means what /readyz means (`isServerReady`). Like /healthz and /readyz they stay
 * open without the API key and outside the drain, access log and HTTP metrics: a
 * kubelet probes without credentials, every few seconds, and during shutdown too.
 */
export function createOipHealthRoutes(options: ProbeRoutesOptions): HttpRoute {
  return (req, res) => {
    const path = pathOf(req);
    if (path !== "/v2/health/live" && path !== "/v2/health/ready") return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" });
      res.end();
      return true;
    }
    const yes = path === "/v2/health/live" || isServerReady(options);
    res.writeHead(yes ? 200 : 400, { "cache-control": "no-store", "content-length": "0" });
    res.end();
    return true;
  };
}
