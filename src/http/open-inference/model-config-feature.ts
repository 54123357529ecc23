import {
  modelConfig,
  type OipConfigTensor,
  type OipModelConfig,
  type OipVersionPolicy,
} from "../../open-inference/oip-model-config.js";
import type { ModelRegistry } from "../../registry/model-registry.js";
import { sendJson } from "../http-route.js";
import { MODEL_ROUTE } from "./oip-path.js";
import type { OipFeature } from "./oip-router.js";

const tensorJson = (t: OipConfigTensor) => ({ name: t.name, data_type: t.dataType, dims: t.dims });

function versionPolicyJson(policy: OipVersionPolicy): Record<string, unknown> {
  switch (policy.kind) {
    case "all":
      return { all: {} };
    case "latest":
      return { latest: { num_versions: policy.numVersions } };
    case "specific":
      return { specific: { versions: policy.versions } };
  }
}

/**
 * A ModelConfig in Triton's JSON form (its REST `config` answer): the protobuf
 * message's snake_case field names, enums by name, 64-bit integers as JSON numbers.
 */
export function modelConfigJson(config: OipModelConfig): Record<string, unknown> {
  const batching = config.dynamicBatching;
  const queue = batching?.defaultQueuePolicy;
  return {
    name: config.name,
    platform: config.platform,
    backend: config.backend,
    version_policy: versionPolicyJson(config.versionPolicy),
    max_batch_size: config.maxBatchSize,
    input: config.input.map(tensorJson),
    output: config.output.map(tensorJson),
    instance_group: config.instanceGroup,
    ...(batching &&
      queue && {
        dynamic_batching: {
          preferred_batch_size: batching.preferredBatchSize,
          max_queue_delay_microseconds: batching.maxQueueDelayMicroseconds,
          priority_levels: batching.priorityLevels,
          default_priority_level: batching.defaultPriorityLevel,
          default_queue_policy: {
            timeout_action: queue.timeoutAction,
            default_timeout_microseconds: queue.defaultTimeoutMicroseconds,
            allow_timeout_override: queue.allowTimeoutOverride,
            max_queue_size: queue.maxQueueSize,
          },
        },
      }),
    response_cache: config.responseCache,
  };
}

/**
 * Triton's model configuration extension: `GET /v2/models/{m}[/versions/{v}]/config`
 * answers the version's ModelConfig as JSON (see `modelConfig` for what maps); 404 for
 * an unknown model or version, 503 for one not ready.
 */
export function modelConfigFeature(registry: ModelRegistry): OipFeature {
  return {
    extensions: ["model_configuration"],
    endpoints: [
      {
        route: `${MODEL_ROUTE}/config`,
        method: "GET",
        handle: async (call) =>
          sendJson(
            call.req,
            call.res,
            200,
            modelConfigJson(modelConfig(registry, call.model, call.version)),
          ),
      },
    ],
  };
}
