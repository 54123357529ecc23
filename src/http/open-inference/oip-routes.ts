import type { TextGenerator } from "../../generation/text-generator.js";
import type { Predictor } from "../../inference/predictor.js";
import { createOpenInference } from "../../open-inference/open-inference.js";
import type { ModelRegistry } from "../../registry/model-registry.js";
import type { HttpRoute } from "../http-route.js";
import type { ApiRequestOptions } from "../serve-api-request.js";
import { generateFeature } from "./generate-feature.js";
import { inferFeature } from "./infer-feature.js";
import { modelConfigFeature } from "./model-config-feature.js";
import type { OipErrorLogger } from "./oip-error.js";
import { createOipHealthRoutes } from "./oip-health-routes.js";
import { createOipRouter, type OipFeature } from "./oip-router.js";
import { repositoryFeature } from "./repository-feature.js";
import { statisticsFeature } from "./statistics-feature.js";

/** What the `/v2` routes share with the rest of the server. */
export interface OipRoutesOptions extends ApiRequestOptions {
  readonly registry: ModelRegistry;
  readonly generator: TextGenerator;
  /** The Predict path (with its metrics) that infer shares with Predict and ModelInfer. */
  readonly predictor: Predictor;
  /** True from the moment shutdown starts: `/v2/health/ready` then answers 400. */
  readonly isShuttingDown: () => boolean;
  /** The server's `--max-request-bytes`: larger bodies get 413. */
  readonly maxRequestBytes: number;
  /** inferd's version, reported by `GET /v2`. */
  readonly serverVersion: string;
  readonly logger?: OipErrorLogger;
}

/**
 * The Open Inference Protocol's REST routes ("KServe v2", with Triton's extensions)
 * on the API port: the open health probes first, then the `/v2` router with every
 * feature inferd serves. A new part of the protocol (infer, model metadata,
 * statistics) is one more {@link OipFeature} in this list.
 */
export function createOipRoutes(options: OipRoutesOptions): HttpRoute[] {
  const features: OipFeature[] = [
    repositoryFeature(options.registry),
    generateFeature(options.generator),
    statisticsFeature(options.registry),
    modelConfigFeature(options.registry),
    inferFeature(createOpenInference(options)),
  ];
  return [
    createOipHealthRoutes(options),
    createOipRouter({
      ...options,
      features,
      server: { name: "inferd", version: options.serverVersion },
    }),
  ];
}
