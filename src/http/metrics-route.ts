import type { Registry } from "prom-client";

/** The part of a Node HTTP/1 or HTTP/2-compat request the route reads. */
export interface MetricsRouteRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
}

/** The part of a Node HTTP/1 or HTTP/2-compat response the route writes. */
export interface MetricsRouteResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  // Two signatures rather than `end(body?)`, so that HTTP/2's `end(callback?)` fits too.
  end(): unknown;
  end(body: string): unknown;
}

/** Returns true when it took the request (and will answer it), false to pass it on. */
export type MetricsRoute = (req: MetricsRouteRequest, res: MetricsRouteResponse) => boolean;

/** Options of `createMetricsRoute`. */
export interface MetricsRouteOptions {
  /** Path to serve; default "/metrics". */
  path?: string;
}

/**
 * An HTTP handler for Prometheus scrapes: `GET` (or `HEAD`) on `/metrics` answers
 * with the registry in the text exposition format and the registry's content
 * type; other methods on that path get 405. Any other path is not taken, so the
 * server can try its next route on the same port.
 */
export function createMetricsRoute(
  registry: Registry,
  options: MetricsRouteOptions = {},
): MetricsRoute {
  const path = options.path ?? "/metrics";
  return (req, res) => {
    const url = req.url ?? "";
    const queryAt = url.indexOf("?");
    if ((queryAt === -1 ? url : url.slice(0, queryAt)) !== path) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
      res.end(`use GET on ${path}\n`);
      return true;
    }
    registry.metrics().then(
      (body) => {
        res.writeHead(200, { "content-type": registry.contentType });
        if (req.method === "HEAD") res.end();
        else res.end(body);
      },
      (error: unknown) => {
        res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        res.end(
          `collecting metrics failed: ${error instanceof Error ? error.message : String(error)}\n`,
        );
      },
    );
    return true;
  };
}
