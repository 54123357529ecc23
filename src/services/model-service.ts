import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type GenerationMemory,
  GenerationMemorySchema,
  type Model,
  ModelKind,
  ModelSchema,
  type ModelService,
  ModelVersionSchema,
  VersionState,
  type WatchModelsResponse,
  WatchModelsResponseSchema,
} from "../../gen/inferd/v1/model_pb.js";
import type {
  VersionState as DomainState,
  ModelRegistry,
  ModelStatus,
  RegistryEvent,
} from "../registry/model-registry.js";
import type { VersionMemory } from "../registry/version-memory.js";
import { encodeTensorInfo } from "./tensor-codec.js";
import { watchRegistry } from "./watch-registry.js";

const STATES: Readonly<Record<DomainState, VersionState>> = {
  loading: VersionState.LOADING,
  ready: VersionState.READY,
  draining: VersionState.DRAINING,
  unloaded: VersionState.UNLOADED,
  failed: VersionState.FAILED,
};

/** A registry ModelStatus as the wire's Model; the config becomes a google.protobuf.Struct. */
export function encodeModel(status: ModelStatus): Model {
  return create(ModelSchema, {
    name: status.name,
    kind: status.kind === "predict" ? ModelKind.PREDICT : ModelKind.GENERATE,
    reason: status.reason ?? "",
    warnings: [...(status.warnings ?? [])],
    // A JSON round trip drops undefined and Maps-turned-objects so the Struct is valid.
    config: JSON.parse(JSON.stringify(status.config)) as JsonObject,
    versions: status.versions.map((v) =>
      create(ModelVersionSchema, {
        version: v.version,
        state: STATES[v.state],
        reason: v.reason ?? "",
        inputs: v.inputs.map(encodeTensorInfo),
        outputs: v.outputs.map(encodeTensorInfo),
        inFlight: v.inFlight,
        ...(v.memory !== undefined && { memory: encodeMemory(v.memory) }),
      }),
    ),
  });
}

/** uint64 fields are bigint in protobuf-es. */
function encodeMemory(memory: VersionMemory): GenerationMemory {
  return create(GenerationMemorySchema, {
    weightBytes: BigInt(memory.weightBytes),
    kvCacheBytesPerToken: BigInt(memory.kvCacheBytesPerToken),
    kvCacheUsedBytes: BigInt(memory.kvCacheUsedBytes),
    kvCacheReservedBytes: BigInt(memory.kvCacheReservedBytes),
    kvCacheMaxBytes: BigInt(memory.kvCacheMaxBytes),
    kvCacheBudgetBytes: BigInt(memory.kvCacheBudgetBytes),
    prefixCacheUsedBytes: BigInt(memory.prefixCacheUsedBytes),
    prefixCacheBudgetBytes: BigInt(memory.prefixCacheBudgetBytes),
  });
}

function encodeEvent(event: RegistryEvent): WatchModelsResponse {
  return create(WatchModelsResponseSchema, {
    model: event.model,
    version: event.version,
    state: STATES[event.state],
    reason: event.reason ?? "",
    time: timestampFromDate(event.time),
  });
}

/** Options of `createModelService`. */
export interface ModelServiceOptions {
  readonly registry: ModelRegistry;
}

/**
 * Connect handlers for `inferd.v1.ModelService`, thin over the {@link ModelRegistry}.
 * They throw domain errors; mount them with `withErrorMapping` (as `createInferdRoutes` does).
 */
export function createModelService(options: ModelServiceOptions): ServiceImpl<typeof ModelService> {
  const { registry } = options;
  return {
    listModels: () => ({ models: registry.list().map(encodeModel) }),
    getModel: (req) => ({ model: encodeModel(registry.get(req.name)) }),
    loadModel: async (req, context) => {
      const versions = req.versions.length > 0 ? req.versions : undefined;
      return { model: encodeModel(await registry.load(req.name, versions, context.signal)) };
    },
    unloadModel: async (req) => ({
      model: encodeModel(await registry.unload(req.name, req.version || undefined)),
    }),
    async *watchModels(req, context) {
      const filter = req.name === "" ? undefined : req.name;
      for await (const event of watchRegistry(
        registry,
        filter,
        req.includeCurrent,
        context.signal,
      )) {
        yield encodeEvent(event);
      }
    },
  };
}
