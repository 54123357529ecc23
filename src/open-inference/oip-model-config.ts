import { isBatchable } from "../batching/is-batchable.js";
import type { ModelConfig, VersionPolicy } from "../registry/model-config.js";
import type { ModelRegistry } from "../registry/model-registry.js";
import type { TensorSpec } from "../tensor/host-tensor.js";
import { type OipDatatype, toOipDatatype } from "./oip-datatype.js";
import { OIP_BACKEND, OIP_PLATFORM } from "./oip-platform.js";

/** Triton's model-configuration datatype: "TYPE_" and the protocol's, TYPE_STRING for BYTES. */
export type OipConfigDatatype = `TYPE_${Exclude<OipDatatype, "BYTES">}` | "TYPE_STRING";

/** An input or output of ModelConfig: Triton's `TYPE_*` name, dims without the batch dim when batching. */
export interface OipConfigTensor {
  readonly name: string;
  readonly dataType: OipConfigDatatype;
  readonly dims: readonly number[];
}

/** Which versions load: Triton's `ModelVersionPolicy`. */
export type OipVersionPolicy =
  | { readonly kind: "latest"; readonly numVersions: number }
  | { readonly kind: "all" }
  | { readonly kind: "specific"; readonly versions: readonly number[] };

/** Triton's `ModelDynamicBatching`, as far as model.json says it. */
export interface OipDynamicBatching {
  readonly preferredBatchSize: readonly number[];
  readonly maxQueueDelayMicroseconds: number;
  readonly priorityLevels: number;
  /** The level a request without priority gets: inferd's priority 0, Triton's lowest level. */
  readonly defaultPriorityLevel: number;
  readonly defaultQueuePolicy: {
    readonly timeoutAction: "REJECT";
    readonly defaultTimeoutMicroseconds: number;
    readonly allowTimeoutOverride: boolean;
    readonly maxQueueSize: number;
  };
}

/** ModelConfig, protocol-neutral: what maps from model.json and the ONNX signature. */
export interface OipModelConfig {
  readonly name: string;
  readonly platform: string;
  readonly backend: string;
  readonly versionPolicy: OipVersionPolicy;
  /** The batcher's row limit; 0 when the model is not batched. */
  readonly maxBatchSize: number;
  readonly input: readonly OipConfigTensor[];
  readonly output: readonly OipConfigTensor[];
  readonly instanceGroup: readonly {
    readonly name: string;
    readonly count: number;
    readonly kind: "KIND_CPU";
  }[];
  /** Present when the model is batched (max_batch_size > 0). */
  readonly dynamicBatching?: OipDynamicBatching;
  readonly responseCache: { readonly enable: boolean };
}

/**
 * Triton's ModelConfig of a ready version (`version` undefined: the one the routing
 * policy serves now), from its model.json and ONNX signature. Triton's convention:
 * with max_batch_size > 0 the batch dimension is left out of every input's and
 * output's dims (an output that is only the batch dimension has dims []); -1 marks
 * a dynamic dimension. max_batch_size is what the batcher applies: model.json's
 * max_batch_size, or 0 when the signature has no dynamic first dimension or the model
 * is generative. The queue policy's timeout is model.json's timeout_ms, which inferd
 * applies to the whole request and a client deadline overrides. Throws not_found
 * (unknown model or version) or unavailable (not ready), as a lease does.
 */
export function modelConfig(
  registry: ModelRegistry,
  name: string,
  version: number | undefined,
): OipModelConfig {
  const lease = registry.acquire(name, version);
  lease.release();
  const { servable, config } = lease;
  const batched = servable.kind === "predict" && isBatchable(servable.inputs);
  const maxBatchSize = batched ? config.maxBatchSize : 0;
  const tensor = (spec: TensorSpec): OipConfigTensor => ({
    name: spec.name,
    dataType: configDatatype(spec),
    dims: maxBatchSize > 0 ? spec.dims.slice(1) : [...spec.dims],
  });
  return {
    name,
    platform: OIP_PLATFORM,
    backend: OIP_BACKEND,
    versionPolicy: versionPolicy(config.versionPolicy),
    maxBatchSize,
    input: servable.inputs.map(tensor),
    output: servable.outputs.map(tensor),
    instanceGroup: [
      { name, count: servable.kind === "predict" ? config.instanceCount : 1, kind: "KIND_CPU" },
    ],
    ...(maxBatchSize > 0 && { dynamicBatching: dynamicBatching(config) }),
    responseCache: { enable: config.responseCache.maxEntries > 0 },
  };
}

/** Triton's name of a dtype: "TYPE_" and the protocol's, but BYTES is TYPE_STRING. */
function configDatatype(spec: TensorSpec): OipConfigDatatype {
  const datatype = toOipDatatype(spec.dtype);
  return datatype === "BYTES" ? "TYPE_STRING" : `TYPE_${datatype}`;
}

function versionPolicy(policy: VersionPolicy): OipVersionPolicy {
  if (policy === "all") return { kind: "all" };
  if ("latest" in policy) return { kind: "latest", numVersions: policy.latest };
  return { kind: "specific", versions: [...policy.specific] };
}

function dynamicBatching(config: ModelConfig): OipDynamicBatching {
  return {
    preferredBatchSize: [...config.preferredBatchSizes],
    maxQueueDelayMicroseconds: config.maxQueueDelayUs,
    priorityLevels: config.priorityLevels,
    // Triton's level p is inferd's priority levels - p: inferd's default 0 is the lowest level.
    defaultPriorityLevel: config.priorityLevels,
    defaultQueuePolicy: {
      timeoutAction: "REJECT",
      defaultTimeoutMicroseconds: config.timeoutMs * 1000,
      allowTimeoutOverride: true,
      maxQueueSize: config.maxQueueSize,
    },
  };
}
