import { randomUUID } from "node:crypto";
import type { TextGenerator } from "../../generation/text-generator.js";
import type { ModelRegistry, ModelStatus } from "../../registry/model-registry.js";
import { cutStalledResponse } from "../cut-stalled-response.js";
import { HttpError } from "../http-error.js";
import { type HttpRoute, pathOf, sendJson } from "../http-route.js";
import { readJsonBody } from "../read-json-body.js";
import {
  type ApiEndpoint,
  type ApiHandler,
  type ApiRequestOptions,
  serveApiRequest,
} from "../serve-api-request.js";
import { OpenAiError, type OpenAiErrorLogger, toOpenAiError } from "./openai-error.js";
import { openAiKeyRefusal } from "./openai-key-refusal.js";
import { chatBodySchema, completionBodySchema, parseBody } from "./openai-schemas.js";
import { respondGeneration } from "./respond-generation.js";
import { chatFormat, completionFormat } from "./response-formats.js";
import { chatToCall, completionToCall } from "./to-generate-call.js";

/** What the /v1 routes share with the gRPC services: the generator, registry, limits, admission and API key. */
export interface OpenAiRoutesOptions extends ApiRequestOptions {
  readonly generator: TextGenerator;
  /** For GET /v1/models (generative models only). */
  readonly registry: Pick<ModelRegistry, "list">;
  /** The server's `--max-request-bytes`: larger bodies get 413. */
  readonly maxRequestBytes: number;
  readonly logger?: OpenAiErrorLogger;
}

type Handler = ApiHandler;

/** The endpoint pattern a path matches, e.g. "/v1/models/{model}" for "/v1/models/llama". */
function endpointOf(path: string): string {
  return path.startsWith("/v1/models/") ? "/v1/models/{model}" : path;
}

/** The engine's client for a /v1 call: the peer's socket address (see clientIdentity). */
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
    const call = {
      ...completionToCall(body, head.id),
      client,
      onStall: () => cutStalledResponse(req, res),
    };
    const started = await generator.start(call, signal);
    const format = completionFormat(head, body.logprobs ?? null);
    await respondGeneration(res, req, started, format, streamOf(body));
  };

  const chat: Handler = async (req, res, signal, client) => {
    const body = parseBody(chatBodySchema, await readJsonBody(req, maxRequestBytes));
    const head = { id: `chatcmpl-${randomUUID()}`, created: created(), model: body.model };
    const call = {
      ...chatToCall(body, head.id),
      client,
      onStall: () => cutStalledResponse(req, res),
    };
    const started = await generator.start(call, signal);
    const format = chatFormat(head, body.logprobs === true ? (body.top_logprobs ?? 0) : null);
    await respondGeneration(res, req, started, format, streamOf(body));
  };

  const models: Handler = async (req, res) => {
    const data = options.registry
      .list()
      .filter((m) => m.kind === "generate" && m.versions.some((v) => v.state === "ready"))
      .map(modelObject);
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
    sendJson(req, res, 200, modelObject(found));
  };

  const unknown: Handler = async (req) => {
    const path = pathOf(req);
    const known = Object.keys(endpoints).join(", ");
    throw new HttpError(
      404,
      "unknown_endpoint",
      `unknown endpoint ${path}; this server has ${known}`,
    );
  };

  const toResponse = (error: unknown) => {
    const mapped = toOpenAiError(error, options.logger);
    return { status: mapped.status, body: mapped.body };
  };
  const endpoints: Readonly<Record<string, ApiEndpoint>> = {
    "/v1/completions": { route: "/v1/completions", method: "POST", handler: completions },
    "/v1/chat/completions": { route: "/v1/chat/completions", method: "POST", handler: chat },
    "/v1/models": { route: "/v1/models", method: "GET", handler: models },
    "/v1/models/{model}": { route: "/v1/models/{model}", method: "GET", handler: model },
  };
  return (req, res) => {
    const path = pathOf(req);
    if (!path.startsWith("/v1/")) return false;
    const endpoint = endpoints[endpointOf(path)] ?? { route: "other", handler: unknown };
    void serveApiRequest(req, res, endpoint, {
      ...options,
      toResponse,
      refuseKey: openAiKeyRefusal,
    });
    return true;
  };
}

/**
 * OpenAI's model object. `created` (Unix seconds) is when the newest ready version
 * finished loading: the time what is served last changed.
 */
function modelObject(status: ModelStatus) {
  const times = status.versions
    .filter((v) => v.state === "ready")
    .map((v) => v.readyAt?.getTime() ?? 0);
  const created = Math.floor(Math.max(0, ...times) / 1000);
  return { id: status.name, object: "model", created, owned_by: "inferd" };
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
