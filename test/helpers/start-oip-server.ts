import { resolveServerConfig } from "../../src/config/resolve-server-config.js";
import { createTextGenerator } from "../../src/generation/text-generator.js";
import { createOipRoutes } from "../../src/http/open-inference/oip-routes.js";
import { createPredictor, type Predictor } from "../../src/inference/predictor.js";
import { createLogger } from "../../src/logging/logger.js";
import type { ModelRegistry } from "../../src/registry/model-registry.js";
import { createInferdServer, type InferdServer } from "../../src/server/inferd-server.js";
import { createInferdRoutes } from "../../src/services/routes.js";

/** A running server speaking the Open Inference Protocol over a test registry. */
export interface OipTestServer {
  readonly server: InferdServer;
  readonly port: number;
  readonly baseUrl: string;
}

/**
 * A real inferd server on 127.0.0.1 and a free port serving the Open Inference
 * Protocol both ways over `registry`: gRPC's GRPCInferenceService (with inferd's
 * own services, `createInferdRoutes`) and the `/v2` REST routes, both on
 * `predictor` (default: the real one over `registry`). For tests that need a
 * slow or recording model or predictor behind OIP.
 */
export async function startOipServer(
  registry: ModelRegistry,
  predictor: Predictor = createPredictor({ registry }),
  maxRequestBytes = 64 * 1024,
): Promise<OipTestServer> {
  const server = createInferdServer({
    config: { ...resolveServerConfig({}, {}), port: 0, host: "127.0.0.1", maxRequestBytes },
    logger: createLogger({ level: "silent" }),
    registry,
    routes: createInferdRoutes({ registry, predictor }),
    httpRoutes: createOipRoutes({
      registry,
      predictor,
      generator: createTextGenerator({ registry }),
      isShuttingDown: () => false,
      maxRequestBytes,
      serverVersion: "test",
    }),
  });
  const { port } = await server.listen();
  return { server, port, baseUrl: `http://127.0.0.1:${port}` };
}
