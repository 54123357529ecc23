import type { ConnectRouter } from "@connectrpc/connect";
import { GenerationService } from "../../gen/inferd/v1/generation_pb.js";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { ModelService } from "../../gen/inferd/v1/model_pb.js";
import { createTextGenerator, type TextGenerator } from "../generation/text-generator.js";
import type { Predictor } from "../inference/predictor.js";
import type { ModelRegistry } from "../registry/model-registry.js";
import { createGenerationService } from "./generation-service.js";
import { createInferenceService } from "./inference-service.js";
import { createModelService } from "./model-service.js";
import type { ErrorLogger } from "./to-connect-error.js";

export interface InferdRoutesDeps {
  readonly registry: ModelRegistry;
  readonly predictor: Predictor;
  /** The Generate path; defaults to one over `registry` (without an end-of-stream log). */
  readonly generator?: TextGenerator;
  readonly logger?: ErrorLogger;
}

/**
 * Registers InferenceService, GenerationService and ModelService on a Connect router (health and
 * reflection are registered by the server). Pass the result to `connectNodeAdapter`
 * or `createRouterTransport`.
 */
export function createInferdRoutes(deps: InferdRoutesDeps): (router: ConnectRouter) => void {
  return (router) => {
    router.service(InferenceService, createInferenceService(deps));
    router.service(
      GenerationService,
      createGenerationService({
        generator: deps.generator ?? createTextGenerator({ registry: deps.registry }),
        ...(deps.logger && { logger: deps.logger }),
      }),
    );
    router.service(ModelService, createModelService(deps));
  };
}
