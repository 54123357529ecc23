import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { ApiKeyVerifier } from "../../auth/api-key-verifier.js";
import { asKeyRing } from "../../auth/as-key-ring.js";
import type { KeyRing } from "../../auth/key-ring.js";
import type { TextGenerator } from "../../generation/text-generator.js";
import type { HttpRequestDone } from "../../metrics/http-metrics.js";
import type { ModelRegistry } from "../../registry/model-registry.js";
import { type HttpRoute, pathOf, sendJson } from "../http-route.js";
import { OpenAiError, type OpenAiErrorLogger, toOpenAiError } from "./openai-error.js";
import { admitKey, openAiKeyRefusal } from "./openai-key-refusal.js";
import { chatBodySchema, completionBodySchema, parseBody } from "./openai-schemas.js";
import { readJsonBody } from "./read-json-body.js";
import { respondGeneration } from "./respond-generation.js";
import { chatFormat, completionFormat } from "./response-formats.js";
import { chatToCall, completionToCall } from "./to-generate-call.js";

/** What the /v1 routes share with the gRPC services: the generator, registry, limits, admission and API key. */
export interface OpenAiRoutesOptions {
  readonly generator: TextGenerator;
  /** For GET /v1/models (generative models only). */
  readonly registry: Pick<ModelRegistry, "list">;
  /** The server's `--max-request-bytes`: larger bodies get 413. */
  readonly maxRequestBytes: number;
  readonly logger?: OpenAiErrorLogger;
  /**
   * Graceful shutdown: each request counts as work in flight while it runs; once
   * draining, new requests get 503, and streams still running when `cutoffSignal`
   * aborts (the grace period elapsed) end with an error event.
   */
  readonly admission?: HttpAdmission;
  /**
   * The server's keys (`--api-key`, `--api-keys-file`): requests without a valid bearer
   * key get 401, a key without the `infer` scope 403, a key over its limits 429 with
   * `Retry-After`. A plain {@link ApiKeyVerifier} is taken too (every scope, no limits).
   */
  readonly verifyApiKey?: ApiKeyVerifier | KeyRing;
  /** Called once per request when its response ended (access log, metrics). */
  readonly onResponse?: (done: HttpRequestDone) => void;
}

/** The server's drain controller as the routes see it (no dependency on the server). */
export interface HttpAdmission {
  enter(): (() => void) | undefined;
  readonly cutoffSignal: AbortSignal;
}

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;
/** `client`: the admitted API key's name, which generation is accounted to. */
type Handler = (req: Req, res: Res, signal: AbortSignal, client?: string) => Promise<void>;

type Method = "POST" | "GET";

const ENDPOINTS: Readonly<Record<string, Method>> = {
  "/v1/completions": "POST",
  "/v1/chat/completions": "POST",
  "/v1/models": "GET",
  "/v1/models/{model}": "GET",
};

/** The endpoint pattern a path matches, e.g. "/v1/models/{model}" for "/v1/models/llama". */
function endpointOf(path: string): string {
  return path.startsWith("/v1/models/") ? "/v1/models/{model}" : path;
}

/**
 * OpenAI-compatible HTTP on the API port: POST /v1/completions and
 * /v1/chat/completions (JSON or, with `stream: true`, server-sent events ending
 * `data: [DONE]`) and GET /v1/models, mapped onto the same engine as Generate.
 * The route answers synchronously that it took the request, then reads the body;
 * a client that disconnects aborts its generation, which frees the slot.
 */
export function createOpenAiRoutes(options: OpenAiRoutesOptions): HttpRoute {
  const { generator, maxRequestBytes } = options;
  const created = () => Math.floor(Date.now() / 1000);

  const completions: Handler = async (req, res, signal, client) => {
    const body = parseBody(completionBodySchema, await readJsonBody(req, maxRequestBytes));
    const head = { id: `cmpl-${randomUUID()}`, created: created(), model: body.model };
    const call = { ...completionToCall(body, head.id), ...(client !== undefined && { client }) };
    const started = await generator.start(call, signal);
    const format = completionFormat(head, body.logprobs ?? null);
    await respondGeneration(res, req, started, format, streamOf(body));
  };

  const chat: Handler = async (req, res, signal, client) => {
    const body = parseBody(chatBodySchema, await readJsonBody(req, maxRequestBytes));
    const head = { id: `chatcmpl-${randomUUID()}`, created: created(), model: body.model };
    const call = { ...chatToCall(body, head.id), ...(client !== undefined && { client }) };
    const started = await generator.start(call, signal);
    const format = chatFormat(head, body.logprobs === true ? (body.top_logprobs ?? 0) : null);
    await respondGeneration(res, req, started, format, streamOf(body));
  };

  const models: Handler = async (req, res) => {
    const data = options.registry
      .list()
      .filter((m) => m.kind === "generate" && m.versions.some((v) => v.state === "ready"))
      .map((m) => ({ id: m.name, object: "model", created: 0, owned_by: "inferd" }));
    sendJson(req, res, 200, { object: "list", data });
  };

  const model: Handler = async (req, res) => {
    const raw = pathOf(req).slice("/v1/models/".length);
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      name = raw; // a malformed %-escape names no model: answered model_not_found below
    }
    const found = options.registry
      .list()
      .find(
        (m) =>
          m.kind === "generate" && m.name === name && m.versions.some((v) => v.state === "ready"),
      );
    if (found === undefined) {
      throw new OpenAiError(
        404,
        `The model '${name}' does not exist`,
        "invalid_request_error",
        "model",
        "model_not_found",
      );
    }
    sendJson(req, res, 200, { id: found.name, object: "model", created: 0, owned_by: "inferd" });
  };

  const unknown: Handler = async (req) => {
    const path = pathOf(req);
    const known = Object.keys(ENDPOINTS).join(", ");
    throw new OpenAiError(
      404,
      `unknown endpoint ${path}; this server has ${known}`,
      "invalid_request_error",
    );
  };

  const handlers: Readonly<Record<string, Handler>> = {
    "/v1/completions": completions,
    "/v1/chat/completions": chat,
    "/v1/models": models,
    "/v1/models/{model}": model,
  };
  const keys = options.verifyApiKey && asKeyRing(options.verifyApiKey);
  return (req, res) => {
    const path = pathOf(req);
    if (!path.startsWith("/v1/")) return false;
    const endpoint = endpointOf(path);
    void serve(req, res, endpoint, handlers[endpoint] ?? unknown, { ...options, keys });
    return true;
  };
}

function streamOf(body: {
  stream?: boolean | null | undefined;
  stream_options?: { include_usage?: boolean | null | undefined } | null | undefined;
}) {
  return {
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
  };
}

/**
 * Runs a handler under a signal that aborts when the client goes away or the
 * shutdown grace period ends; answers errors.
 */
async function serve(
  req: Req,
  res: Res,
  path: string,
  handler: Handler,
  options: Pick<OpenAiRoutesOptions, "logger" | "admission" | "onResponse"> & {
    readonly keys: KeyRing | undefined;
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
      route: path in ENDPOINTS ? path : "other",
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
    const granted = admitKey(options.keys, req, path);
    if (granted && "key" in granted) key = granted.key;
    if (granted && !granted.ok) throw openAiKeyRefusal(res, granted);
    const method = ENDPOINTS[path];
    if (method && req.method !== method && !(method === "GET" && req.method === "HEAD")) {
      res.setHeader("allow", method ?? "GET");
      throw new OpenAiError(405, `${path} takes ${method} requests`, "invalid_request_error");
    }
    await handler(req, res, signal, key);
    // A generation cut off by the shutdown ends as "cancelled", which writes nothing.
    if (admission?.cutoffSignal.aborted && !res.writableEnded) throw CUT_OFF;
  } catch (error) {
    if (controller.signal.aborted) return;
    const cutOff = admission?.cutoffSignal.aborted === true;
    const mapped = toOpenAiError(cutOff ? CUT_OFF : error, options.logger);
    if (!res.headersSent) sendJson(req, res, mapped.status, mapped.body);
    else if (!res.writableEnded) res.end(`data: ${JSON.stringify(mapped.body)}\n\n`);
  } finally {
    leave?.();
  }
}

const SHUTTING_DOWN = new OpenAiError(503, "the server is shutting down", "server_error");
const CUT_OFF = new OpenAiError(
  503,
  "the server is shutting down and the grace period for running requests elapsed",
  "server_error",
);
