import { createConnectRouter } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { RPC_SCOPES, scopeOfHttpRoute, scopeOfMethod } from "../../src/auth/scope-table.js";
import { createPredictor } from "../../src/inference/predictor.js";
import { createHealthService } from "../../src/services/health-service.js";
import { createReflectionService } from "../../src/services/reflection-service.js";
import { createInferdRoutes } from "../../src/services/routes.js";
import { createFakeRegistry } from "../helpers/fake-registry.js";

/** Every method the server registers, as `inferd-server.ts` composes them. */
function registeredMethods(): { service: string; method: string }[] {
  const registry = createFakeRegistry({ m1: true });
  const router = createConnectRouter();
  createInferdRoutes({ registry, predictor: createPredictor({ registry }) })(router);
  createHealthService({ registry, shutdownSignal: new AbortController().signal })(router);
  createReflectionService({ services: router.handlers.map((h) => h.service) })(router);
  return router.handlers.map((h) => ({ service: h.service.typeName, method: h.method.name }));
}

describe("RPC_SCOPES", () => {
  it("names a scope for every method of every registered service", () => {
    const methods = registeredMethods();
    expect(methods.length).toBeGreaterThanOrEqual(15);
    const missing = methods.filter((m) => RPC_SCOPES[m.service]?.[m.method] === undefined);
    expect(missing).toEqual([]);
  });

  it("splits inference, reading and administration, and leaves health and reflection open", () => {
    const table = Object.fromEntries(
      registeredMethods().map((m) => [
        `${m.service}/${m.method}`,
        scopeOfMethod(m.service, m.method),
      ]),
    );
    expect(table).toMatchObject({
      "inferd.v1.InferenceService/Predict": "infer",
      "inferd.v1.InferenceService/BatchPredict": "infer",
      "inferd.v1.InferenceService/PredictStream": "infer",
      "inferd.v1.GenerationService/Generate": "infer",
      "inferd.v1.GenerationService/Tokenize": "infer",
      "inferd.v1.ModelService/ListModels": "read",
      "inferd.v1.ModelService/GetModel": "read",
      "inferd.v1.ModelService/WatchModels": "read",
      "inferd.v1.ModelService/LoadModel": "admin",
      "inferd.v1.ModelService/UnloadModel": "admin",
      "grpc.health.v1.Health/Check": "open",
      "grpc.reflection.v1.ServerReflection/ServerReflectionInfo": "open",
    });
  });

  it("requires admin for a method it does not know (fails closed)", () => {
    expect(scopeOfMethod("inferd.v1.ModelService", "DropEverything")).toBe("admin");
    expect(scopeOfMethod("x.Unknown", "Call")).toBe("admin");
  });

  it("scopes the Open Inference Protocol's gRPC methods", () => {
    const oip = "inference.GRPCInferenceService";
    expect(scopeOfMethod(oip, "ModelInfer")).toBe("infer");
    expect(scopeOfMethod(oip, "ModelStreamInfer")).toBe("infer");
    expect(scopeOfMethod(oip, "ModelMetadata")).toBe("read");
    expect(scopeOfMethod(oip, "RepositoryModelLoad")).toBe("admin");
    expect(scopeOfMethod(oip, "ServerLive")).toBe("open");
  });
});

describe("scopeOfHttpRoute", () => {
  it.each([
    ["/v1/chat/completions", "infer"],
    ["/v1/models", "infer"],
    ["/v2/models/iris/infer", "infer"],
    ["/v2/models/iris/versions/2/infer", "infer"],
    ["/v2/models/llm/generate_stream", "infer"],
    ["/v2/models/iris", "read"],
    ["/v2/models/iris/versions/2/ready", "read"],
    ["/v2/models/iris/stats", "read"],
    ["/v2", "read"],
    ["/v2/repository/index", "read"],
    ["/v2/repository/models/iris/load", "admin"],
    ["/v2/repository/models/iris/unload", "admin"],
    ["/v2/something/new", "admin"],
    ["/v2/health/live", "open"],
    ["/v2/health/ready", "open"],
    ["/healthz", "open"],
    ["/metrics", "open"],
    ["/ui/index.html", "open"],
  ])("%s needs %s", (path, scope) => {
    expect(scopeOfHttpRoute(path)).toBe(scope);
  });
});
