import type { ConnectRouter } from "@connectrpc/connect";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { ModelService } from "../../gen/inferd/v1/model_pb.js";
import type { Predictor } from "../inference/predictor.js";
import type { ModelRegistry } from "../registry/model-registry.js";
import { createInferenceService } from "./inference-service.js";
import { createModelService } from "./model-service.js";
import type { ErrorLogger } from "./to-connect-error.js";

export interface InferdRoutesDeps {
  readonly registry: ModelRegistry;
  readonly predictor: Predictor;
  readonly logger?: ErrorLogger;
}

/**
 * Registers InferenceService and ModelService on a Connect router (health and
 * reflection are registered by the server). Pass the result to `connectNodeAdapter`
 * or `createRouterTransport`.
 */
export function createInferdRoutes(deps: InferdRoutesDeps): (router: ConnectRouter) => void {
  return (router) => {
    router.service(InferenceService, createInferenceService(deps));
    router.service(ModelService, createModelService(deps));
  };
}
