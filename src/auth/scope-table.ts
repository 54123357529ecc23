import type { Requirement, Scope } from "./scope.js";

/**
 * THE table of gRPC/Connect methods and the scope each requires, by service type name
 * then method name. `test/auth/scope-table.test.ts` fails when a method of a service the
 * server registers is missing, so a new RPC cannot ship unguarded: add its row here.
 * Health and reflection stay open (probes and `grpcurl describe` carry no key).
 */
export const RPC_SCOPES: Readonly<Record<string, Readonly<Record<string, Requirement>>>> = {
  "inferd.v1.InferenceService": { Predict: "infer", BatchPredict: "infer", PredictStream: "infer" },
  "inferd.v1.GenerationService": { Generate: "infer", Tokenize: "infer", Detokenize: "infer" },
  "inferd.v1.ModelService": {
    ListModels: "read",
    GetModel: "read",
    WatchModels: "read",
    LoadModel: "admin",
    UnloadModel: "admin",
  },
  // The Open Inference Protocol (KServe v2). ServerLive/ServerReady are its health probes.
  "inference.GRPCInferenceService": {
    ServerLive: "open",
    ServerReady: "open",
    ModelReady: "read",
    ServerMetadata: "read",
    ModelMetadata: "read",
    ModelInfer: "infer",
    ModelStreamInfer: "infer",
    RepositoryIndex: "read",
    RepositoryModelLoad: "admin",
    RepositoryModelUnload: "admin",
    ModelStatistics: "read",
    ModelConfig: "read",
  },
  "grpc.health.v1.Health": { Check: "open", Watch: "open", List: "open" },
  "grpc.reflection.v1.ServerReflection": { ServerReflectionInfo: "open" },
  "grpc.reflection.v1alpha.ServerReflection": { ServerReflectionInfo: "open" },
};

/**
 * The requirement of a gRPC/Connect method. A method the table does not know needs
 * `admin`: failing closed, so that only a key holding every scope reaches it.
 */
export function scopeOfMethod(service: string, method: string): Requirement {
  return RPC_SCOPES[service]?.[method] ?? "admin";
}

/** One plain HTTP route of the table: its path pattern and requirement. */
interface HttpScopeRow {
  readonly path: RegExp;
  readonly scope: Requirement;
}

const SEGMENT = "[^/]+";
const MODEL = `/v2/models/${SEGMENT}(?:/versions/${SEGMENT})?`;

/**
 * THE table of plain HTTP API routes and their scopes, first match wins: the OpenAI
 * routes and the Open Inference Protocol's REST routes. Routes no row matches (the
 * probes, /metrics, the playground) are not API routes and stay open.
 */
export const HTTP_SCOPES: readonly HttpScopeRow[] = [
  { path: /^\/v1\//, scope: "infer" },
  { path: /^\/v2\/health\/(?:live|ready)$/, scope: "open" },
  { path: new RegExp(`^${MODEL}/(?:infer|generate|generate_stream)$`), scope: "infer" },
  { path: new RegExp(`^${MODEL}/(?:ready|stats|config)$`), scope: "read" },
  { path: new RegExp(`^${MODEL}$`), scope: "read" },
  { path: /^\/v2\/models\/stats$/, scope: "read" },
  { path: /^\/v2\/repository\/index$/, scope: "read" },
  { path: /^\/v2\/repository\/models\/[^/]+\/(?:load|unload)$/, scope: "admin" },
  { path: /^\/v2\/?$/, scope: "read" },
  { path: /^\/v2\//, scope: "admin" },
];

/**
 * The requirement of a plain HTTP request by its path (query excluded), or
 * "open" for a path outside the API. Under `/v2/` a path no row names needs `admin`,
 * failing closed like {@link scopeOfMethod}.
 */
export function scopeOfHttpRoute(path: string): Requirement {
  return HTTP_SCOPES.find((row) => row.path.test(path))?.scope ?? "open";
}

/** Guard: the requirement names a scope (the call needs a key). */
export function needsKey(requirement: Requirement): requirement is Scope {
  return requirement !== "open";
}
