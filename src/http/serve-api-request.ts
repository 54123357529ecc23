import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { API_KEY_REQUIRED, type ApiKeyVerifier } from "../auth/api-key-verifier.js";
import type { HttpRequestDone } from "../metrics/http-metrics.js";
import { HttpError } from "./http-error.js";
import { sendJson } from "./http-route.js";

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
  /** The server's `--api-key`: requests without a valid bearer key get 401. */
  readonly verifyApiKey?: ApiKeyVerifier;
  /** Called once per request when its response ended (access log, metrics). */
  readonly onResponse?: (done: HttpRequestDone) => void;
}

/** A route's work; `signal` aborts when the client leaves or the grace period ends. */
export type ApiHandler = (req: Req, res: Res, signal: AbortSignal) => Promise<void>;

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
  options: ApiRequestOptions & { readonly toResponse: ApiErrorResponse },
): Promise<void> {
  const controller = new AbortController();
  const started = performance.now();
  // Read now: once an HTTP/2 stream has closed its socket proxy no longer tells.
  const peer = req.socket?.remoteAddress;
  res.once("close", () => {
    if (!res.writableFinished) controller.abort();
    options.onResponse?.({
      route: endpoint.route,
      method: req.method ?? "",
      status: res.statusCode,
      seconds: (performance.now() - started) / 1000,
      peer,
    });
  });
  const { admission } = options;
  const leave = admission?.enter();
  const signal = admission
    ? AbortSignal.any([controller.signal, admission.cutoffSignal])
    : controller.signal;
  try {
    if (admission && leave === undefined) throw SHUTTING_DOWN;
    if (options.verifyApiKey && !options.verifyApiKey(req.headers.authorization)) {
      res.setHeader("www-authenticate", "Bearer");
      throw INVALID_API_KEY;
    }
    checkMethod(req, res, endpoint);
    await endpoint.handler(req, res, signal);
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

const INVALID_API_KEY = new HttpError(401, "unauthenticated", API_KEY_REQUIRED);
const SHUTTING_DOWN = new HttpError(503, "shutting_down", "the server is shutting down");
const CUT_OFF = new HttpError(
  503,
  "cut_off",
  "the server is shutting down and the grace period for running requests elapsed",
);
