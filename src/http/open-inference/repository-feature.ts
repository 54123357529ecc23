import { invalidArgument, notFound } from "../../errors/inferd-error.js";
import type { ModelRegistry, ModelStatus, VersionState } from "../../registry/model-registry.js";
import { sendJson } from "../http-route.js";
import { MODEL_ROUTE } from "./oip-path.js";
import type { OipCall, OipFeature } from "./oip-router.js";

/** Triton's model states (its index and gRPC `RepositoryIndex` spell them so). */
const STATES: Readonly<Record<VersionState, string>> = {
  loading: "LOADING",
  ready: "READY",
  draining: "UNLOADING",
  unloaded: "UNAVAILABLE",
  failed: "UNAVAILABLE",
};

/** One entry of `POST /v2/repository/index`. */
export interface RepositoryIndexEntry {
  readonly name: string;
  readonly version?: string;
  readonly state: string;
  readonly reason: string;
}

/**
 * The index: one entry per model version; a model without versions (not loaded, or a
 * configuration error) is one entry without a version, UNAVAILABLE with its reason.
 */
export function repositoryIndex(models: readonly ModelStatus[]): RepositoryIndexEntry[] {
  return models.flatMap((m) =>
    m.versions.length === 0
      ? [{ name: m.name, state: "UNAVAILABLE", reason: m.reason ?? "" }]
      : m.versions.map((v) => ({
          name: m.name,
          version: String(v.version),
          state: STATES[v.state],
          reason: v.reason ?? "",
        })),
  );
}

/**
 * Model readiness and Triton's model repository extension over the registry:
 * `GET /v2/models/{m}[/versions/{v}]/ready` (200 ready, 400 not, empty body; 404 for an
 * unknown model or version), `POST /v2/repository/index` (`{"ready": true}` keeps
 * READY entries), `POST /v2/repository/models/{m}/load` and `/unload` (200 once done,
 * as `inferd.v1.ModelService` LoadModel and UnloadModel; a failed load is an error).
 */
export function repositoryFeature(registry: ModelRegistry): OipFeature {
  return {
    extensions: ["model_repository"],
    endpoints: [
      { route: `${MODEL_ROUTE}/ready`, method: "GET", handle: (c) => modelReady(registry, c) },
      {
        route: "/v2/repository/index",
        method: "POST",
        handle: async (call) => {
          const body = objectOf(await call.body({ emptyAs: {} }));
          if (body.ready !== undefined && typeof body.ready !== "boolean") {
            throw invalidArgument('"ready" must be a boolean');
          }
          const index = repositoryIndex(registry.list());
          const shown = body.ready === true ? index.filter((e) => e.state === "READY") : index;
          sendJson(call.req, call.res, 200, shown);
        },
      },
      {
        route: "/v2/repository/models/{model}/load",
        method: "POST",
        handle: async (call) => {
          checkParameters(await call.body({ emptyAs: {} }), []);
          await registry.load(call.model, undefined, call.signal);
          emptyAnswer(call, 200);
        },
      },
      {
        route: "/v2/repository/models/{model}/unload",
        method: "POST",
        handle: async (call) => {
          // inferd has no ensembles: there are never dependents to unload as well.
          checkParameters(await call.body({ emptyAs: {} }), ["unload_dependents"]);
          await registry.unload(call.model);
          emptyAnswer(call, 200);
        },
      },
    ],
  };
}

async function modelReady(registry: ModelRegistry, call: OipCall): Promise<void> {
  const status = registry.get(call.model);
  if (call.version === undefined) {
    emptyAnswer(call, registry.isModelReady(call.model) ? 200 : 400);
    return;
  }
  const version = status.versions.find((v) => v.version === call.version);
  if (version === undefined) {
    const known = status.versions.map((v) => v.version).join(", ") || "none";
    throw notFound(`model "${call.model}" has no version ${call.version}; versions: ${known}`);
  }
  emptyAnswer(call, version.state === "ready" ? 200 : 400);
}

function emptyAnswer(call: OipCall, status: number): void {
  call.res.writeHead(status, { "cache-control": "no-store", "content-length": "0" });
  call.res.end();
}

function objectOf(value: unknown, what = "the request body"): Record<string, unknown> {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return value as Record<string, unknown>;
  }
  throw invalidArgument(`${what} must be a JSON object`);
}

/** Load and unload take Triton's `{"parameters": {...}}`; a parameter inferd cannot honour is refused by name. */
function checkParameters(body: unknown, allowed: readonly string[]): void {
  const { parameters } = objectOf(body);
  if (parameters === undefined) return;
  const unknown = Object.keys(objectOf(parameters, '"parameters"')).find(
    (p) => !allowed.includes(p),
  );
  if (unknown !== undefined) {
    throw invalidArgument(
      `parameter "${unknown}" is not supported${unknown === "config" || unknown.startsWith("file:") ? " (inferd loads a model's folder and its model.json from the repository)" : ""}; supported: ${allowed.join(", ") || "none"}`,
    );
  }
}
