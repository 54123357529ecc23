import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  ModelConfigResponseSchema,
  ModelStatisticsResponseSchema,
} from "../../gen/inference/grpc_service_pb.js";
import {
  DataType,
  ModelInstanceGroup_Kind,
  ModelQueuePolicy_TimeoutAction,
  type ModelVersionPolicySchema,
} from "../../gen/inference/model_config_pb.js";
import type { OipModelConfig, OipVersionPolicy } from "../open-inference/oip-model-config.js";
import type { OipModelStatistics } from "../open-inference/oip-statistics.js";
import type { DurationStatistic } from "../registry/inference-statistics.js";

type StatisticsInit = MessageInitShape<typeof ModelStatisticsResponseSchema>;
type ConfigInit = MessageInitShape<typeof ModelConfigResponseSchema>;

/** protobuf-es drops the enum's prefix: Triton's KIND_CPU is CPU here. */
const KINDS = { KIND_CPU: ModelInstanceGroup_Kind.CPU } as const;

const duration = (d: DurationStatistic) => ({ count: BigInt(d.count), ns: BigInt(d.ns) });

/** The protocol-neutral statistics as `ModelStatisticsResponse` (uint64 fields as bigint). */
export function encodeModelStatistics(stats: readonly OipModelStatistics[]): StatisticsInit {
  return {
    modelStats: stats.map((s) => ({
      name: s.name,
      version: s.version,
      lastInference: BigInt(s.lastInference),
      inferenceCount: BigInt(s.inferenceCount),
      executionCount: BigInt(s.executionCount),
      inferenceStats: {
        success: duration(s.success),
        fail: duration(s.fail),
        queue: duration(s.queue),
        computeInput: duration(s.computeInput),
        computeInfer: duration(s.computeInfer),
        computeOutput: duration(s.computeOutput),
        cacheHit: duration(s.cacheHit),
        cacheMiss: duration(s.cacheMiss),
      },
      batchStats: s.batches.map((b) => ({
        batchSize: BigInt(b.batchSize),
        computeInput: duration(b.computeInput),
        computeInfer: duration(b.computeInfer),
        computeOutput: duration(b.computeOutput),
      })),
    })),
  };
}

/** The protocol-neutral ModelConfig as `ModelConfigResponse` (Triton's enums by name). */
export function encodeModelConfig(config: OipModelConfig): ConfigInit {
  const tensor = (t: OipModelConfig["input"][number]) => ({
    name: t.name,
    dataType: DataType[t.dataType],
    dims: t.dims.map(BigInt),
  });
  const batching = config.dynamicBatching;
  return {
    config: {
      name: config.name,
      platform: config.platform,
      backend: config.backend,
      versionPolicy: versionPolicy(config.versionPolicy),
      maxBatchSize: config.maxBatchSize,
      input: config.input.map(tensor),
      output: config.output.map(tensor),
      instanceGroup: config.instanceGroup.map((g) => ({
        ...g,
        kind: KINDS[g.kind],
      })),
      ...(batching && {
        schedulingChoice: {
          case: "dynamicBatching",
          value: {
            ...batching,
            preferredBatchSize: [...batching.preferredBatchSize],
            maxQueueDelayMicroseconds: BigInt(batching.maxQueueDelayMicroseconds),
            defaultQueuePolicy: {
              ...batching.defaultQueuePolicy,
              timeoutAction: ModelQueuePolicy_TimeoutAction.REJECT,
              defaultTimeoutMicroseconds: BigInt(
                batching.defaultQueuePolicy.defaultTimeoutMicroseconds,
              ),
            },
          },
        },
      }),
      responseCache: { ...config.responseCache },
    },
  };
}

function versionPolicy(
  policy: OipVersionPolicy,
): MessageInitShape<typeof ModelVersionPolicySchema> {
  switch (policy.kind) {
    case "all":
      return { policyChoice: { case: "all", value: {} } };
    case "latest":
      return { policyChoice: { case: "latest", value: { numVersions: policy.numVersions } } };
    case "specific":
      return {
        policyChoice: { case: "specific", value: { versions: policy.versions.map(BigInt) } },
      };
  }
}
