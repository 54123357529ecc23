import { notFound, unavailable } from "../../src/errors/inferd-error.js";
import { defaultModelConfig, type ModelConfig } from "../../src/registry/model-config.js";
import type {
  Lease,
  ModelRegistry,
  ModelStatus,
  RegistryEvent,
  Servable,
} from "../../src/registry/model-registry.js";
import type { LoadedModel, RunOptions, TensorMap } from "../../src/runtime/model-runtime.js";
import type { HostTensor, TensorSpec } from "../../src/tensor/host-tensor.js";

export interface RunRecord {
  inputs: TensorMap;
  outputNames: readonly string[];
  signal: AbortSignal | undefined;
  options: RunOptions | undefined;
}

export interface FakeModel extends LoadedModel {
  readonly kind: "predict";
  readonly runs: RunRecord[];
  /** When set, run() waits for this promise (or the abort) before computing. */
  gate?: Promise<void>;
}

const spec = (
  name: string,
  dtype: HostTensor["dtype"],
  dims: number[],
  dimNames: string[],
): TensorSpec => ({
  name,
  dtype,
  dims,
  dimNames,
});

/**
 * y = 2x + 1 on a float32 [batch_size, 4] input "x"; "scores" [batch_size, 3] holds
 * x's first three columns (so tests choose the label ranking); "sum" int64 [batch_size]
 * is the row sum truncated.
 */
export function createAffineModel(): FakeModel {
  const model: FakeModel = {
    kind: "predict",
    runs: [],
    inputs: [spec("x", "float32", [-1, 4], ["batch_size", ""])],
    outputs: [
      spec("y", "float32", [-1, 4], ["batch_size", ""]),
      spec("scores", "float32", [-1, 3], ["batch_size", ""]),
      spec("sum", "int64", [-1], ["batch_size"]),
    ],
    pending: 0,
    async run(inputs, outputNames = [], signal, options) {
      model.runs.push({ inputs, outputNames, signal, options });
      if (model.gate !== undefined) {
        await Promise.race([
          model.gate,
          new Promise((_, reject) =>
            signal?.addEventListener("abort", () => reject(signal.reason)),
          ),
        ]);
      }
      if (signal?.aborted) throw signal.reason;
      const x = inputs.x as HostTensor;
      const data = x.data as Float32Array;
      const rows = x.dims[0] ?? 0;
      const all: TensorMap = {
        y: { dtype: "float32", dims: [...x.dims], data: data.map((v) => 2 * v + 1) },
        scores: {
          dtype: "float32",
          dims: [rows, 3],
          data: Float32Array.from(
            { length: rows * 3 },
            (_, i) => data[Math.floor(i / 3) * 4 + (i % 3)] ?? 0,
          ),
        },
        sum: {
          dtype: "int64",
          dims: [rows],
          data: BigInt64Array.from({ length: rows }, (_, r) =>
            BigInt(Math.trunc(data.subarray(r * 4, r * 4 + 4).reduce((a, b) => a + b, 0))),
          ),
        },
      };
      if (outputNames.length === 0) return all;
      return Object.fromEntries(outputNames.map((n) => [n, all[n] as HostTensor]));
    },
    async dispose() {},
  };
  return model;
}

export interface FakeEntry {
  name: string;
  version: number;
  servable: Servable;
  config?: Partial<ModelConfig>;
  state?: "ready" | "loading" | "failed";
}

export interface FakeRegistry extends ModelRegistry {
  emit(event: RegistryEvent): void;
  readonly held: () => number;
  /** Subscribers right now. */
  readonly subscribers: () => number;
  readonly loads: { name: string; versions: readonly number[] | undefined }[];
}

/** An in-memory registry over fixed entries; acquire/release are counted. */
export function createFakeRegistry(entries: FakeEntry[]): FakeRegistry {
  const listeners = new Set<(event: RegistryEvent) => void>();
  let held = 0;
  const loads: FakeRegistry["loads"] = [];
  const names = () => [...new Set(entries.map((e) => e.name))];
  const status = (name: string): ModelStatus => {
    const versions = entries.filter((e) => e.name === name);
    if (versions.length === 0)
      throw notFound(`model "${name}" not found; models: ${names().join(", ")}`);
    return {
      name,
      kind: versions[0]?.servable.kind ?? "predict",
      config: { labels: [], top_k: 1, ...versions[0]?.config, nested: { undef: undefined, n: 1 } },
      versions: versions.map((e) => ({
        version: e.version,
        state: e.state ?? "ready",
        ...(e.state === "failed" && { reason: "bad onnx file" }),
        inputs: e.servable.inputs,
        outputs: e.servable.outputs,
        inFlight: held,
      })),
    };
  };
  return {
    loads,
    held: () => held,
    subscribers: () => listeners.size,
    emit: (event) => {
      for (const l of listeners) l(event);
    },
    async start() {},
    list: () => names().map(status),
    get: status,
    acquire(name, version): Lease {
      const candidates = entries.filter(
        (e) => e.name === name && (version === undefined || e.version === version),
      );
      if (candidates.length === 0)
        throw notFound(`model "${name}" version ${version ?? "any"} not found`);
      const entry = candidates.sort((a, b) => b.version - a.version)[0] as FakeEntry;
      if ((entry.state ?? "ready") !== "ready")
        throw unavailable(`model "${name}" is ${entry.state}`);
      held += 1;
      let released = false;
      return {
        model: name,
        version: entry.version,
        servable: entry.servable,
        config: { ...defaultModelConfig(), ...entry.config },
        release() {
          if (released) throw new Error("lease released twice");
          released = true;
          held -= 1;
        },
      };
    },
    async load(name, versions) {
      loads.push({ name, versions });
      return status(name);
    },
    async unload(name) {
      return status(name);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    isReady: () => true,
    notReady: () => [],
    isModelReady: () => true,
    async close() {},
  };
}
