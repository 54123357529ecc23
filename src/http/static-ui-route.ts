import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { extname, resolve, sep } from "node:path";
import { type HttpRoute, pathOf } from "./http-route.js";

/** Options of `createStaticUiRoute`. */
export interface StaticUiRouteOptions {
  /** The built playground (`ui/dist`): index.html plus its assets. */
  dir: string;
}

const PREFIX = "/ui/";

/**
 * The page's icon in the built playground, copied there unhashed by the UI build:
 * index.html links it, and `/favicon.ico` (which browsers and tools ask for on their
 * own) answers with it rather than 404.
 */
export const FAVICON_FILE = "favicon.svg";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

/** esbuild's `[name]-[hash]` file names: their content never changes, so caches may keep them. */
const HASHED_NAME = /-[A-Z0-9]{8}\.\w+$/;

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/**
 * Serves the browser playground on the API's port: `GET /` redirects to `/ui/`
 * (keeping the query, e.g. `?api=`), `/ui/` is index.html and `/ui/<file>` its
 * assets. The page refers to its assets relatively so that the same bundle can be
 * hosted under any path elsewhere. `/favicon.ico` is the page's SVG icon
 * ({@link FAVICON_FILE}). index.html is revalidated on every load; hashed
 * assets are cached for a year. Paths that would leave `dir` (`..`, encoded or
 * not) and unknown files get 404; methods other than GET and HEAD get 405.
 */
export function createStaticUiRoute(options: StaticUiRouteOptions): HttpRoute {
  const root = resolve(options.dir);
  return (req, res) => {
    const path = pathOf(req);
    const favicon = path === "/favicon.ico";
    if (path !== "/" && path !== "/ui" && !favicon && !path.startsWith(PREFIX)) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" });
      res.end();
    } else if (path === "/" || path === "/ui") {
      const query = (req.url ?? "").slice(path.length);
      res.writeHead(302, { location: `${PREFIX}${query}`, "cache-control": "no-store" });
      res.end();
    } else {
      const name = favicon ? FAVICON_FILE : path.slice(PREFIX.length);
      void sendFile(req, res, resolveAsset(root, name));
    }
    return true;
  };
}

/** The file a request path names inside `root`, or undefined when it would escape it. */
export function resolveAsset(root: string, relative: string): string | undefined {
  let name: string;
  try {
    name = decodeURIComponent(relative);
  } catch {
    return undefined;
  }
  if (name === "") name = "index.html";
  if (name.includes("\0")) return undefined;
  const file = resolve(root, name);
  return file.startsWith(root + sep) ? file : undefined;
}

async function sendFile(req: Req, res: Res, file: string | undefined): Promise<void> {
  const body = file === undefined ? undefined : await readFile(file).catch(() => undefined);
  if (file === undefined || body === undefined) {
    const text = "not found (is the playground built? `npm run build:ui`)\n";
    res.writeHead(404, {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
    });
    finish(req, res, text);
    return;
  }
  res.writeHead(200, {
    "content-type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream",
    "content-length": String(body.length),
    "cache-control": HASHED_NAME.test(file) ? "public, max-age=31536000, immutable" : "no-cache",
    "x-content-type-options": "nosniff",
  });
  finish(req, res, body);
}

/** Ends the response with `body`, or with the headers only for HEAD. */
function finish(req: Req, res: Res, body: string | Buffer): void {
  if (req.method === "HEAD") res.end();
  else res.end(body);
}
