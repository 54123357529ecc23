import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { GenerationService } from "../../gen/inferd/v1/generation_pb.js";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { ModelService } from "../../gen/inferd/v1/model_pb.js";
import { GRPCInferenceService } from "../../gen/inference/grpc_service_pb.js";
import { packageVersion } from "../config/package-version.js";
import { createTextGenerator, type TextGenerator } from "../generation/text-generator.js";
import type { Predictor } from "../inference/predictor.js";
import { createOpenInference } from "../open-inference/open-inference.js";
import type { ModelRegistry } from "../registry/model-registry.js";
import { createGenerationService } from "./generation-service.js";
import { createInferenceService } from "./inference-service.js";
import { createModelService } from "./model-service.js";
import { createOpenInferenceService } from "./open-inference-service.js";
import type { ErrorLogger } from "./to-connect-error.js";
import { withErrorMapping } from "./with-error-mapping.js";

/** What the inferd services run on: the registry, the Predict and Generate use cases, and the error log. */
export interface InferdRoutesDeps {
  readonly registry: ModelRegistry;
  readonly predictor: Predictor;
  /** The Generate path; defaults to one over `registry` (without an end-of-stream log). */
  readonly generator?: TextGenerator;
  readonly logger?: ErrorLogger;
  /** `--max-batch-predict-items` (see `InferenceServiceOptions`). */
  readonly maxBatchPredictItems?: number;
}

/**
 * Registers InferenceService, GenerationService, ModelService and the Open Inference
 * Protocol's GRPCInferenceService on a Connect router (health and
 * reflection are registered by the server), each behind {@link withErrorMapping}: the
 * handlers throw domain errors, and this is where they become Connect codes, for the
 * Connect adapter, the lean gRPC path and `createRouterTransport` alike. Pass the result
 * to `connectNodeAdapter` or `createRouterTransport`.
 */
export function createInferdRoutes(deps: InferdRoutesDeps): (router: ConnectRouter) => void {
  const { logger } = deps;
  const version = packageVersion();
  return (router) => {
    router.service(
      InferenceService,
      withErrorMapping(InferenceService, createInferenceService(deps), logger),
    );
    const generator = deps.generator ?? createTextGenerator({ registry: deps.registry });
    router.service(
      GenerationService,
      withErrorMapping(GenerationService, createGenerationService({ generator }), logger),
    );
    router.service(ModelService, withErrorMapping(ModelService, createModelService(deps), logger));
    const core = createOpenInference(deps);
    const oip = createOpenInferenceService({
      core,
      serverVersion: version,
      ...(logger && { logger }),
    });
    router.service(
      GRPCInferenceService,
      withErrorMapping(
        GRPCInferenceService,
        oip as ServiceImpl<typeof GRPCInferenceService>,
        logger,
      ),
    );
  };
}
