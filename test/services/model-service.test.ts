import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  ModelKind,
  ModelService,
  VersionState,
  type WatchModelsResponse,
} from "../../gen/inferd/v1/model_pb.js";
import { DataType } from "../../gen/inferd/v1/tensor_pb.js";
import { createPredictor } from "../../src/inference/predictor.js";
import { encodeModel } from "../../src/services/model-service.js";
import { createInferdRoutes } from "../../src/services/routes.js";
import { connectErrorOf } from "../helpers/connect-error-of.js";
import { createAffineModel } from "../helpers/fake-model.js";
import { createFakeRegistry } from "../helpers/fake-registry.js";
import { waitFor } from "../helpers/wait-for.js";

function setup() {
  const model = createAffineModel();
  const registry = createFakeRegistry([
    { name: "affine", version: 1, servable: model, config: { labels: ["a"] } },
    { name: "affine", version: 2, servable: model, state: "failed" },
    { name: "other", version: 5, servable: model },
  ]);
  const transport = createRouterTransport(
    createInferdRoutes({ registry, predictor: createPredictor({ registry }) }),
  );
  return { registry, client: createClient(ModelService, transport) };
}

describe("ModelService", () => {
  it("carries the registry's warnings on the model (GetModel, ListModels, LoadModel)", () => {
    const base = { name: "w", kind: "predict", versions: [], config: {} } as const;
    const warning = "routing weights name version 1, which version_policy latest 1 does not serve";
    expect(encodeModel({ ...base, warnings: [warning] }).warnings).toEqual([warning]);
    expect(encodeModel(base).warnings).toEqual([]);
  });

  it("lists models with versions, states, reasons, signatures and config", async () => {
    const { client, registry } = setup();
    const lease = registry.acquire("affine", 1);
    const { models } = await client.listModels({});
    lease.release();
    expect(models.map((m) => m.name)).toEqual(["affine", "other"]);
    const affine = models[0];
    expect(affine?.kind).toBe(ModelKind.PREDICT);
    expect(affine?.versions.map((v) => [v.version, v.state, v.reason])).toEqual([
      [1, VersionState.READY, ""],
      [2, VersionState.FAILED, "bad onnx file"],
    ]);
    expect(affine?.versions[0]?.inFlight).toBe(1);
    const x = affine?.versions[0]?.inputs[0];
    expect([x?.name, x?.dtype, x?.shape, x?.dimNames]).toEqual([
      "x",
      DataType.FLOAT32,
      [-1, 4],
      ["batch_size", ""],
    ]);
    expect(affine?.versions[0]?.outputs.map((o) => o.name)).toEqual(["y", "scores", "sum"]);
    expect(affine?.config).toEqual({ labels: ["a"], top_k: 1, nested: { n: 1 } });
  });

  it("gets one model, NotFound for an unknown one", async () => {
    const { client } = setup();
    expect((await client.getModel({ name: "other" })).model?.versions[0]?.version).toBe(5);
    const error = await connectErrorOf(client.getModel({ name: "nope" }));
    expect(error?.code).toBe(Code.NotFound);
    expect(error?.rawMessage).toContain("affine, other");
  });

  it("loads and unloads through the registry", async () => {
    const { client, registry } = setup();
    expect((await client.loadModel({ name: "other", versions: [5] })).model?.name).toBe("other");
    await client.loadModel({ name: "affine" });
    expect(registry.loads).toEqual([
      { name: "other", versions: [5] },
      { name: "affine", versions: undefined },
    ]);
    expect((await client.unloadModel({ name: "affine" })).model?.name).toBe("affine");
    expect((await connectErrorOf(client.unloadModel({ name: "nope" }))).code).toBe(Code.NotFound);
  });

  it("watches events: current state first, filtered by name, until the client cancels", async () => {
    const { client, registry } = setup();
    const controller = new AbortController();
    const seen: WatchModelsResponse[] = [];
    const done = (async () => {
      for await (const event of client.watchModels(
        { name: "affine", includeCurrent: true },
        { signal: controller.signal },
      )) {
        seen.push(event);
        if (seen.length === 2) {
          registry.emit({ model: "other", version: 5, state: "draining", time: new Date(0) });
          registry.emit({ model: "affine", version: 3, state: "loading", time: new Date(1000) });
        }
        if (seen.length === 3) controller.abort();
      }
    })().catch((e: unknown) => ConnectError.from(e).code);
    expect(await done).toBe(Code.Canceled);
    expect(seen.map((e) => [e.model, e.version, e.state, e.reason])).toEqual([
      ["affine", 1, VersionState.READY, ""],
      ["affine", 2, VersionState.FAILED, "bad onnx file"],
      ["affine", 3, VersionState.LOADING, ""],
    ]);
    expect(timestampDate(seen[2]?.time ?? ({} as never)).getTime()).toBe(1000);
    await waitFor(() => registry.subscribers() === 0);
  });

  it("answers a stray error of WatchModels with Internal, logged, its message not sent", async () => {
    const logged: unknown[] = [];
    const registry = {
      ...createFakeRegistry([{ name: "affine", version: 1, servable: createAffineModel() }]),
      subscribe: (): never => {
        throw new Error("/srv/inferd/secret.ts:42 went wrong");
      },
    };
    const logger = { error: (obj: object) => logged.push((obj as { err: unknown }).err) };
    const routes = createInferdRoutes({
      registry,
      predictor: createPredictor({ registry }),
      logger,
    });
    const client = createClient(ModelService, createRouterTransport(routes));
    const error = await connectErrorOf(
      (async () => {
        for await (const _ of client.watchModels({ includeCurrent: true })) {
          // The stream fails before its first event.
        }
      })(),
    );
    expect([error.code, error.rawMessage]).toEqual([
      Code.Internal,
      "internal error (see server log)",
    ]);
    expect(error.message).not.toContain("secret");
    expect((logged[0] as Error | undefined)?.message).toBe("/srv/inferd/secret.ts:42 went wrong");
  });
});
