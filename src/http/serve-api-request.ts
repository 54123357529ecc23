import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { ApiKeyVerifier } from "../auth/api-key-verifier.js";
import { asKeyRing } from "../auth/as-key-ring.js";
import { httpRefusalOf } from "../auth/http-refusal.js";
import type { Admission, KeyRing } from "../auth/key-ring.js";
import { needsKey, scopeOfHttpRoute } from "../auth/scope-table.js";
import type { HttpRequestDone } from "../metrics/http-metrics.js";
import { clientIdentity } from "../observed-call/client-identity.js";
import { HttpError } from "./http-error.js";
import { pathOf, sendJson } from "./http-route.js";

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** The server's drain controller as the routes see it (no dependency on the server). */
export interface HttpAdmission {
  enter(): (() => void) | undefined;
  readonly cutoffSignal: AbortSignal;
}

/** What every family of API routes (/v1, /v2) shares with the gRPC services. */
export interface ApiRequestOptions {
  /**
   * Graceful shutdown: each request counts as work in flight while it runs; once
   * draining, new requests get 503, and streams still running when `cutoffSignal`
   * aborts (the grace period elapsed) end with an error event.
   */
  readonly admission?: HttpAdmission;
  /**
   * The server's keys (`--api-key`, `--api-keys-file`): a request without a valid bearer
   * key gets 401, a key without the route's scope (`auth/scope-table.ts`) 403, a key over
   * its limits 429 with `Retry-After`. A plain {@link ApiKeyVerifier} is every scope, no limits.
   */
  readonly verifyApiKey?: ApiKeyVerifier | KeyRing;
  /** Called once per request when its response ended (access log, metrics). */
  readonly onResponse?: (done: HttpRequestDone) => void;
}

/**
 * A route's work; `signal` aborts when the client leaves or the grace period ends;
 * `client` names the caller (`clientIdentity`: the admitted key's name, else the peer),
 * for generation's fairness, per-client cap and token charging.
 */
export type ApiHandler = (req: Req, res: Res, signal: AbortSignal, client: string) => Promise<void>;

/** A refused key as the protocol words it (headers set on `res`); default: an {@link HttpError}. */
export type KeyRefusal = (res: Res, admission: Exclude<Admission, { ok: true }>) => Error;

/** One endpoint as served: its label for metrics and logs, its method and handler. */
export interface ApiEndpoint {
  /** The endpoint pattern ("/v1/models/{model}"), or "other" for an unknown one. */
  readonly route: string;
  /** Absent: any method (the unknown-endpoint handler). GET also takes HEAD. */
  readonly method?: "GET" | "POST";
  readonly handler: ApiHandler;
}

/** A protocol's one error mapping: the status and body for anything a handler threw. */
export type ApiErrorResponse = (error: unknown) => { status: number; body: unknown };

/**
 * Runs one API request the way every HTTP API route does: admission (503 once
 * draining), the API key (401), the method (405), then the handler under a signal
 * that aborts when the client goes away or the shutdown grace period ends; reports
 * the finished response to `onResponse`. Errors are answered with the protocol's
 * `toResponse`: a JSON body, or a last `data:` event when a stream already started.
 */
export async function serveApiRequest(
  req: Req,
  res: Res,
  endpoint: ApiEndpoint,
  options: ApiRequestOptions & {
    readonly toResponse: ApiErrorResponse;
    readonly refuseKey?: KeyRefusal;
  },
): Promise<void> {
  const controller = new AbortController();
  const started = performance.now();
  // Read now: once an HTTP/2 stream has closed its socket proxy no longer tells.
  const peer = req.socket?.remoteAddress;
  let key: string | undefined;
  res.once("close", () => {
    if (!res.writableFinished) controller.abort();
    options.onResponse?.({
      route: endpoint.route,
      method: req.method ?? "",
      status: res.statusCode,
      seconds: (performance.now() - started) / 1000,
      peer,
      key,
    });
  });
  const { admission } = options;
  const leave = admission?.enter();
  const signal = admission
    ? AbortSignal.any([controller.signal, admission.cutoffSignal])
    : controller.signal;
  try {
    if (admission && leave === undefined) throw SHUTTING_DOWN;
    const granted = admitKey(options.verifyApiKey, req);
    if (granted && "key" in granted) key = granted.key;
    if (granted && !granted.ok) throw (options.refuseKey ?? refuseKey)(res, granted);
    checkMethod(req, res, endpoint);
    await endpoint.handler(
      req,
      res,
      signal,
      clientIdentity({ keyName: key, socketAddress: peer ?? "" }),
    );
    // A generation cut off by the shutdown ends as "cancelled", which writes nothing.
    if (admission?.cutoffSignal.aborted && !res.writableEnded) throw CUT_OFF;
  } catch (error) {
    if (controller.signal.aborted) return;
    const cutOff = admission?.cutoffSignal.aborted === true;
    const { status, body } = options.toResponse(cutOff ? CUT_OFF : error);
    if (!res.headersSent) sendJson(req, res, status, body);
    else if (!res.writableEnded) res.end(`data: ${JSON.stringify(body)}\n\n`);
  } finally {
    leave?.();
  }
}

function checkMethod(req: Req, res: Res, endpoint: ApiEndpoint): void {
  const { method } = endpoint;
  if (method === undefined || req.method === method) return;
  if (method === "GET" && req.method === "HEAD") return;
  res.setHeader("allow", method);
  throw new HttpError(405, "method_not_allowed", `${endpoint.route} takes ${method} requests`);
}

/**
 * The key's admission for the scope `auth/scope-table.ts` gives the path; undefined on
 * an open server or an open route. An admitted request has taken its request token.
 */
function admitKey(keys: ApiKeyVerifier | KeyRing | undefined, req: Req): Admission | undefined {
  const scope = scopeOfHttpRoute(pathOf(req));
  if (keys === undefined || !needsKey(scope)) return undefined;
  return asKeyRing(keys).authorize(req.headers.authorization, scope);
}

const REASONS = {
  unauthenticated: "unauthenticated",
  forbidden: "forbidden",
  rate_limited: "rate_limited",
} as const;

function refuseKey(res: Res, admission: Exclude<Admission, { ok: true }>): HttpError {
  const { status, message, headers } = httpRefusalOf(admission);
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  return new HttpError(status, REASONS[admission.reason], message);
}

const SHUTTING_DOWN = new HttpError(503, "shutting_down", "the server is shutting down");
const CUT_OFF = new HttpError(
  503,
  "cut_off",
  "the server is shutting down and the grace period for running requests elapsed",
);
