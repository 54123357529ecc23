import { notFound } from "../errors/inferd-error.js";
import type { Predictor } from "../inference/predictor.js";
import type { ModelRegistry, VersionState, VersionStatus } from "../registry/model-registry.js";
import type { TensorSpec } from "../tensor/host-tensor.js";
import { type OipDatatype, toOipDatatype } from "./oip-datatype.js";
import { inferOip } from "./oip-infer.js";
import { modelConfig, type OipModelConfig } from "./oip-model-config.js";
import { parseModelVersion } from "./oip-parameters.js";
import { OIP_PLATFORM } from "./oip-platform.js";
import { modelStatistics, type OipModelStatistics } from "./oip-statistics.js";
import type { OipInferRequest, OipInferResult } from "./oip-tensor.js";

export { OIP_PLATFORM } from "./oip-platform.js";

/** An input or output in ModelMetadata: protocol datatype, -1 for a free dimension. */
export interface OipTensorMetadata {
  readonly name: string;
  readonly datatype: OipDatatype;
  readonly shape: readonly number[];
}

/** ModelMetadata, protocol-neutral. */
export interface OipModelMetadata {
  readonly name: string;
  /** Versions ready to serve, ascending. */
  readonly versions: readonly string[];
  readonly platform: string;
  readonly inputs: readonly OipTensorMetadata[];
  readonly outputs: readonly OipTensorMetadata[];
}

/** One RepositoryIndex entry. */
export interface OipModelIndex {
  readonly name: string;
  readonly version: string;
  readonly state: "READY" | "UNAVAILABLE" | "LOADING" | "UNLOADING";
  readonly reason: string;
}

/** The protocol's operations over inferd's registry and Predict path, for every transport. */
export interface OpenInference {
  /** See {@link inferOip}. */
  infer(request: OipInferRequest, signal: AbortSignal, timeoutMs?: number): Promise<OipInferResult>;
  /** Ready to serve: the registry's readiness (the same answer as /readyz). */
  serverReady(): boolean;
  /** A model ("" version: any version) ready; false for an unknown model or version. */
  modelReady(name: string, version: string): boolean;
  /** @throws not_found for an unknown model or version; unavailable when "" and none is ready. */
  modelMetadata(name: string, version: string): OipModelMetadata;
  /** Every version of every model with its state; `readyOnly` keeps the READY ones. */
  repositoryIndex(readyOnly: boolean): OipModelIndex[];
  load(name: string, signal: AbortSignal): Promise<void>;
  unload(name: string): Promise<void>;
  /** Triton's statistics: "" name every model, "" version every loaded version; see {@link modelStatistics}. */
  modelStatistics(name: string, version: string): OipModelStatistics[];
  /** Triton's ModelConfig of a ready version ("" the routed one); see {@link modelConfig}. */
  modelConfig(name: string, version: string): OipModelConfig;
}

/** Options of {@link createOpenInference}. */
export interface OpenInferenceOptions {
  readonly registry: ModelRegistry;
  readonly predictor: Predictor;
}

const STATES: Readonly<Record<VersionState, OipModelIndex["state"]>> = {
  ready: "READY",
  loading: "LOADING",
  draining: "UNLOADING",
  unloaded: "UNAVAILABLE",
  failed: "UNAVAILABLE",
};

const toMetadata = (spec: TensorSpec): OipTensorMetadata => ({
  name: spec.name,
  datatype: toOipDatatype(spec.dtype),
  shape: [...spec.dims],
});

function pickVersion(registry: ModelRegistry, name: string, version: string): VersionStatus {
  const status = registry.get(name);
  const pinned = parseModelVersion(version);
  // "" : the version the routing policy would serve now (unavailable when none is ready).
  const wanted = pinned ?? servedVersion(registry, name);
  const found = status.versions.find((v) => v.version === wanted);
  if (found === undefined) {
    const known = status.versions.map((v) => v.version).join(", ") || "none";
    throw notFound(`model "${name}" has no version ${version}; versions: ${known}`);
  }
  return found;
}

function servedVersion(registry: ModelRegistry, name: string): number {
  const lease = registry.acquire(name);
  lease.release();
  return lease.version;
}

/** Creates the {@link OpenInference} core: the protocol without a wire. */
export function createOpenInference(options: OpenInferenceOptions): OpenInference {
  const { registry } = options;
  return {
    infer: (request, signal, timeoutMs) => inferOip(options, request, signal, timeoutMs),
    serverReady: () => registry.isReady(),
    modelReady(name, version) {
      const pinned = parseModelVersion(version);
      if (!registry.list().some((m) => m.name === name)) return false;
      if (pinned === undefined) return registry.isModelReady(name);
      return registry.get(name).versions.some((v) => v.version === pinned && v.state === "ready");
    },
    modelMetadata(name, version) {
      const chosen = pickVersion(registry, name, version);
      const versions = registry.get(name).versions.filter((v) => v.state === "ready");
      return {
        name,
        versions: versions.map((v) => String(v.version)),
        platform: OIP_PLATFORM,
        inputs: chosen.inputs.map(toMetadata),
        outputs: chosen.outputs.map(toMetadata),
      };
    },
    repositoryIndex(readyOnly) {
      const index = registry.list().flatMap((model): OipModelIndex[] => {
        if (model.versions.length === 0) {
          const reason = model.reason ?? "no version in the repository";
          return [{ name: model.name, version: "", state: "UNAVAILABLE", reason }];
        }
        return model.versions.map((v) => ({
          name: model.name,
          version: String(v.version),
          state: STATES[v.state],
          reason: v.reason ?? (v.state === "unloaded" ? "unloaded" : ""),
        }));
      });
      return readyOnly ? index.filter((m) => m.state === "READY") : index;
    },
    load: async (name, signal) => {
      await registry.load(name, undefined, signal);
    },
    unload: async (name) => {
      await registry.unload(name);
    },
    modelStatistics: (name, version) => modelStatistics(registry, name, parseModelVersion(version)),
    modelConfig: (name, version) => modelConfig(registry, name, parseModelVersion(version)),
  };
}
