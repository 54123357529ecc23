import { cp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { type Model, ModelService, VersionState } from "../../gen/inferd/v1/model_pb.js";
import { DataType, type TensorInfo } from "../../gen/inferd/v1/tensor_pb.js";
import { IRIS_LABELS, IRIS_SAMPLES, irisInputs } from "../helpers/iris-reference.js";
import { copyVersion } from "../helpers/model-folders.js";
import { useInferd } from "../helpers/use-inferd.js";

/** Three models with version folders 1, 2, 3 and one version policy each. */
const POLICIES: [name: string, policy: unknown, loaded: number[]][] = [
  ["iris", { latest: 2 }, [2, 3]],
  ["iris_all", "all", [1, 2, 3]],
  ["iris_specific", { specific: [1, 3] }, [1, 3]],
];

const inferd = useInferd({
  models: ["iris"],
  config: { modelControlMode: "explicit" },
  prepare: async (repo) => {
    await copyVersion(repo, "iris", 1, 3);
    for (const [name, policy] of POLICIES.slice(1)) {
      await cp(join(repo, "iris"), join(repo, name), { recursive: true });
      const json = { labels: IRIS_LABELS, version_policy: policy };
      await writeFile(join(repo, name, "model.json"), JSON.stringify(json));
    }
  },
});

const transport = () => createConnectTransport({ baseUrl: inferd.baseUrl, httpVersion: "1.1" });
const states = (model: Model | undefined) => model?.versions.map((v) => [v.version, v.state]);
const failure = (call: Promise<unknown>) => call.then(() => undefined, ConnectError.from);

describe("explicit mode over the API", () => {
  it("loads nothing at start: every version UNLOADED, Predict Unavailable, /readyz 200", async () => {
    const { models } = await createClient(ModelService, transport()).listModels({});
    for (const m of models) {
      expect(m.versions.map((v) => v.state)).toEqual([
        VersionState.UNLOADED,
        VersionState.UNLOADED,
        VersionState.UNLOADED,
      ]);
    }
    const inference = createClient(InferenceService, transport());
    const unpinned = await failure(inference.predict({ model: "iris", inputs: {} }));
    expect(unpinned?.code).toBe(Code.Unavailable);
    expect(unpinned?.rawMessage).toContain('model "iris" has no ready version');
    const pinned = await failure(inference.predict({ model: "iris", version: 2, inputs: {} }));
    expect(pinned?.code).toBe(Code.Unavailable);
    expect(pinned?.rawMessage).toBe('model "iris" version 2 not loaded');
    expect((await fetch(`${inferd.baseUrl}/readyz`)).status).toBe(200);
  });

  it.each(POLICIES)(
    "LoadModel %s loads what its policy %j selects; UnloadModel drains one version, then all",
    async (name, policy, loaded) => {
      const models = createClient(ModelService, transport());
      const inference = createClient(InferenceService, transport());
      const { model } = await models.loadModel({ name });
      const expected = [1, 2, 3].map((v) => [
        v,
        loaded.includes(v) ? VersionState.READY : VersionState.UNLOADED,
      ]);
      expect(states(model)).toEqual(expected);
      expect(model?.config?.version_policy).toEqual(policy);
      expect(states((await models.getModel({ name })).model)).toEqual(expected);
      const predict = (version?: number) =>
        inference.predict({
          model: name,
          inputs: irisInputs(IRIS_SAMPLES),
          ...(version && { version }),
        });
      expect((await predict()).version).toBe(3);

      const { model: after } = await models.unloadModel({ name, version: 3 });
      expect(after?.versions.find((v) => v.version === 3)?.state).toBe(VersionState.UNLOADED);
      expect((await predict()).version).toBe(loaded.at(-2));
      expect((await failure(predict(3)))?.code).toBe(Code.Unavailable);

      const { model: none } = await models.unloadModel({ name });
      expect(none?.versions.map((v) => v.state)).toEqual(Array(3).fill(VersionState.UNLOADED));
      expect((await failure(predict()))?.code).toBe(Code.Unavailable);
    },
  );

  it("answers NotFound for an unknown model or version folder", async () => {
    const models = createClient(ModelService, transport());
    const unknown = await failure(models.loadModel({ name: "nope" }));
    expect(unknown?.code).toBe(Code.NotFound);
    expect(unknown?.rawMessage).toContain("it has: iris, iris_all, iris_specific");
    const version = await failure(models.loadModel({ name: "iris", versions: [9] }));
    expect(version?.code).toBe(Code.NotFound);
    expect(version?.rawMessage).toContain("no version folder 9");
    const unload = await failure(models.unloadModel({ name: "iris", version: 9 }));
    expect(unload?.code).toBe(Code.NotFound);
  });

  it("answers InvalidArgument for a name that is not a folder of the repository (no ../ escapes)", async () => {
    const models = createClient(ModelService, transport());
    for (const name of ["iris/../iris", "../iris", "", "/etc"]) {
      const escaped = await failure(models.loadModel({ name }));
      expect(escaped?.code).toBe(Code.InvalidArgument);
      expect(escaped?.rawMessage).toContain("is not a folder name");
    }
    const { models: listed } = await models.listModels({});
    expect(listed.map((m) => m.name)).toEqual(["iris", "iris_all", "iris_specific"]);
  });
});

describe("GetModel", () => {
  it("shows each version's signature (-1 for dynamic dims) and the effective config", async () => {
    const models = createClient(ModelService, transport());
    await models.loadModel({ name: "iris", versions: [2] });
    const { model } = await models.getModel({ name: "iris" });
    const v2 = model?.versions.find((v) => v.version === 2);
    expect(v2?.state).toBe(VersionState.READY);
    const info = (list: readonly TensorInfo[] | undefined) =>
      list?.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, dimNames: t.dimNames }));
    expect(info(v2?.inputs)).toEqual([
      { name: "features", dtype: DataType.FLOAT32, shape: [-1, 4], dimNames: ["batch_size", ""] },
    ]);
    expect(info(v2?.outputs)).toEqual([
      {
        name: "probabilities",
        dtype: DataType.FLOAT32,
        shape: [-1, 3],
        dimNames: ["batch_size", ""],
      },
      { name: "label", dtype: DataType.INT64, shape: [-1], dimNames: ["batch_size"] },
    ]);
    // The fixture's model.json merged with every default.
    expect(model?.config).toEqual({
      kind: "predict",
      version_policy: { latest: 2 },
      labels: [...IRIS_LABELS],
      top_k: 1,
      instance_count: 1,
      execution: "auto",
      session: {},
      warmup: true,
      timeout_ms: 0,
      routing: { policy: "newest" },
      max_batch_size: 64,
      max_queue_delay_us: 500,
      queue_delay: "adaptive",
      preferred_batch_sizes: [],
      max_queue_size: 1024,
      priority_levels: 0,
      response_cache: { max_entries: 0 },
      max_concurrent_sequences: 16,
      max_prefill_tokens_per_step: 0,
      max_prefill_tokens_while_decoding: 0,
      max_waiting: 256,
      max_sequences_per_client: 0,
      kv_cache: "append",
      kv_cache_memory_bytes: 0,
      matmul_nbits_accuracy_level: 4,
      prefix_cache_bytes: 64 * 1024 * 1024,
    });
    await models.unloadModel({ name: "iris" });
  });
});
