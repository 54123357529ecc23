import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { cors } from "@connectrpc/connect";

/** Connect's and gRPC-Web's request headers, and Authorization for `--api-key`. */
const ALLOWED_HEADERS = [...cors.allowedHeaders, "Authorization"].join(", ");

/** Browsers may cache a preflight answer this long (seconds). */
const PREFLIGHT_MAX_AGE = "7200";

/**
 * CORS for browser clients of Connect and gRPC-Web, with the methods and headers
 * those protocols need (from `cors` in @connectrpc/connect). `origins` lists the
 * allowed origins; "*" allows any. Adds the headers to allowed cross-origin
 * requests and answers preflights (returns true when it answered). With no
 * origins configured, nothing is added and preflights pass on (to a 404).
 */
export function createCorsPolicy(origins: readonly string[]) {
  const any = origins.includes("*");
  const allowed = new Set(origins);
  return (
    req: IncomingMessage | Http2ServerRequest,
    res: ServerResponse | Http2ServerResponse,
  ): boolean => {
    const origin = req.headers.origin;
    if (origin === undefined || !(any || allowed.has(origin))) return false;
    res.setHeader("access-control-allow-origin", any ? "*" : origin);
    if (!any) res.setHeader("vary", "origin");
    if (req.method !== "OPTIONS" || req.headers["access-control-request-method"] === undefined) {
      res.setHeader("access-control-expose-headers", cors.exposedHeaders.join(", "));
      return false;
    }
    res.writeHead(204, {
      "access-control-allow-methods": cors.allowedMethods.join(", "),
      "access-control-allow-headers": ALLOWED_HEADERS,
      "access-control-max-age": PREFLIGHT_MAX_AGE,
    });
    res.end();
    return true;
  };
}
