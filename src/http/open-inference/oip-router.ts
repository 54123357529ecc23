import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { invalidArgument } from "../../errors/inferd-error.js";
import { HttpError } from "../http-error.js";
import { type HttpRoute, pathOf, sendJson } from "../http-route.js";
import { type ReadJsonBodyOptions, readBodyBytes, readJsonBody } from "../read-json-body.js";
import { type ApiEndpoint, type ApiRequestOptions, serveApiRequest } from "../serve-api-request.js";
import { type OipErrorLogger, toOipError } from "./oip-error.js";
import { parseOipPath } from "./oip-path.js";

/** One `/v2` request as an endpoint sees it: the path's model and version parsed. */
export interface OipCall {
  readonly req: IncomingMessage | Http2ServerRequest;
  readonly res: ServerResponse | Http2ServerResponse;
  /** Aborts when the client leaves or the shutdown grace period ends. */
  readonly signal: AbortSignal;
  /** Who asks (`clientIdentity`), for generation's fairness, cap and token charging. */
  readonly client: string;
  /** The model the path names, %-decoded; "" for routes without one. */
  readonly model: string;
  /** The path's `/versions/{v}`; undefined lets the model's routing policy choose. */
  readonly version: number | undefined;
  /** The JSON body: 413 past `--max-request-bytes`, 400 when not JSON. */
  body(options?: ReadJsonBodyOptions): Promise<unknown>;
  /** The body as bytes (JSON followed by binary tensors): 413 past `--max-request-bytes`. */
  bytes(): Promise<Buffer>;
}

/** One endpoint: its pattern (see `parseOipPath`), method and work. */
export interface OipEndpoint {
  readonly route: string;
  readonly method: "GET" | "POST";
  handle(call: OipCall): Promise<void>;
}

/**
 * A group of endpoints and the extension names `GET /v2` reports for them (Triton's
 * names: "model_repository", "generate"...). A new part of the protocol is one more
 * feature passed to {@link createOipRouter}.
 */
export interface OipFeature {
  readonly extensions: readonly string[];
  readonly endpoints: readonly OipEndpoint[];
}

/** Options of {@link createOipRouter}. */
export interface OipRouterOptions extends ApiRequestOptions {
  readonly features: readonly OipFeature[];
  /** The server's `--max-request-bytes`. */
  readonly maxRequestBytes: number;
  readonly logger?: OipErrorLogger;
  /** The `name` and `version` of `GET /v2`. */
  readonly server: { readonly name: string; readonly version: string };
}

/**
 * The `/v2` routes: `GET /v2` (server metadata, listing the features' extensions)
 * and every feature's endpoints, each under the API key, admission, access log and
 * metrics (`serveApiRequest`), errors as `{"error": "..."}` (`toOipError`). Takes
 * every path under `/v2`; unknown ones get 404 and wrong methods 405.
 */
export function createOipRouter(options: OipRouterOptions): HttpRoute {
  const extensions = options.features.flatMap((f) => f.extensions);
  const table = new Map<string, OipEndpoint>();
  const add = (e: OipEndpoint) => table.set(e.route, e);
  add({
    route: "/v2",
    method: "GET",
    handle: async ({ req, res }) => sendJson(req, res, 200, { ...options.server, extensions }),
  });
  for (const feature of options.features) feature.endpoints.forEach(add);
  const toResponse = (error: unknown) => toOipError(error, options.logger);
  return (req, res) => {
    const path = pathOf(req);
    if (path !== "/v2" && !path.startsWith("/v2/")) return false;
    const target = parseOipPath(path);
    const endpoint = table.get(path) ?? table.get(target.route);
    const served: ApiEndpoint = endpoint
      ? {
          route: endpoint.route,
          method: endpoint.method,
          handler: (req, res, signal, client) =>
            endpoint.handle({
              req,
              res,
              signal,
              client,
              // A literal route ("/v2/models/stats") names no model.
              model: table.get(path) ? "" : target.model,
              version: versionOf(target.version),
              body: (o) => readJsonBody(req, options.maxRequestBytes, o),
              bytes: () => readBodyBytes(req, options.maxRequestBytes),
            }),
        }
      : { route: "other", handler: async () => unknownEndpoint(path, table) };
    void serveApiRequest(req, res, served, { ...options, toResponse });
    return true;
  };
}

/** A path's version: inferd's versions are positive integers (the folder names). */
function versionOf(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) {
    throw invalidArgument(
      `model version "${raw}" is not a version: inferd's versions are positive integers (their folder names)`,
    );
  }
  return Number(raw);
}

function unknownEndpoint(path: string, table: ReadonlyMap<string, OipEndpoint>): never {
  const known = [...table.values()].map((e) => `${e.method} ${e.route}`).join(", ");
  throw new HttpError(
    404,
    "unknown_endpoint",
    `unknown endpoint ${path}; this server has ${known}`,
  );
}
