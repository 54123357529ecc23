import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

/**
 * A plain HTTP route tried before Connect on the shared port. Returns true when
 * it took the request (and will answer it), false to pass it on. Takes both
 * HTTP/1 and HTTP/2-compat requests; `createMetricsRoute` fits this shape too.
 */
export type HttpRoute = (
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
) => boolean;

/**
 * A request handler that serves Node's HTTP/1 and HTTP/2-compat requests alike: the
 * listener's handler, and the observers that wrap parts of it.
 */
export type NodeRequestHandler = (
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
) => void;

/** The request path without its query string. */
export function pathOf(req: { readonly url?: string | undefined }): string {
  const url = req.url ?? "";
  const queryAt = url.indexOf("?");
  return queryAt === -1 ? url : url.slice(0, queryAt);
}

/** Writes a JSON body with its status; HEAD gets the headers only. */
export function sendJson(
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
  status: number,
  body: unknown,
): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
  });
  if (req.method === "HEAD") res.end();
  else res.end(text);
}
