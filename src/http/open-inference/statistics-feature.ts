import { modelStatistics, type OipModelStatistics } from "../../open-inference/oip-statistics.js";
import type { ModelRegistry } from "../../registry/model-registry.js";
import { sendJson } from "../http-route.js";
import { MODEL_ROUTE } from "./oip-path.js";
import type { OipCall, OipFeature } from "./oip-router.js";

/** One `model_stats` entry in Triton's JSON: snake_case, counts and nanoseconds as numbers. */
export function statisticsJson(s: OipModelStatistics): Record<string, unknown> {
  return {
    name: s.name,
    version: s.version,
    last_inference: s.lastInference,
    inference_count: s.inferenceCount,
    execution_count: s.executionCount,
    inference_stats: {
      success: s.success,
      fail: s.fail,
      queue: s.queue,
      compute_input: s.computeInput,
      compute_infer: s.computeInfer,
      compute_output: s.computeOutput,
      cache_hit: s.cacheHit,
      cache_miss: s.cacheMiss,
    },
    batch_stats: s.batches.map((b) => ({
      batch_size: b.batchSize,
      compute_input: b.computeInput,
      compute_infer: b.computeInfer,
      compute_output: b.computeOutput,
    })),
  };
}

/**
 * Triton's statistics extension: `GET /v2/models/stats` (every loaded version of every
 * model) and `GET /v2/models/{m}[/versions/{v}]/stats`, answering
 * `{"model_stats": [...]}`; 404 for an unknown or unloaded model or version (see
 * `modelStatistics`). The same numbers as the gRPC ModelStatistics.
 */
export function statisticsFeature(registry: ModelRegistry): OipFeature {
  const answer = async (call: OipCall) => {
    const stats = modelStatistics(registry, call.model, call.version);
    sendJson(call.req, call.res, 200, { model_stats: stats.map(statisticsJson) });
  };
  return {
    extensions: ["statistics"],
    endpoints: [
      { route: "/v2/models/stats", method: "GET", handle: answer },
      { route: `${MODEL_ROUTE}/stats`, method: "GET", handle: answer },
    ],
  };
}
