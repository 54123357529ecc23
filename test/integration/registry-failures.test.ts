import { cp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { ModelService, VersionState } from "../../gen/inferd/v1/model_pb.js";
import {
  IRIS_LABELS,
  IRIS_SAMPLES,
  irisExpected,
  irisInputs,
  maxAbsDiff,
} from "../helpers/iris-reference.js";
import { useInferd } from "../helpers/use-inferd.js";

/** multi_io's model.onnx is garbage; iris_typo's model.json misspells "labels". */
const inferd = useInferd({
  models: ["iris", "multi_io"],
  waitReady: false,
  prepare: async (repo) => {
    await writeFile(join(repo, "multi_io", "1", "model.onnx"), Buffer.from("not an onnx graph"));
    await cp(join(repo, "iris", "1"), join(repo, "iris_typo", "1"), { recursive: true });
    await writeFile(
      join(repo, "iris_typo", "model.json"),
      JSON.stringify({ lables: IRIS_LABELS, max_batch_size: 8 }),
    );
  },
});
// Settled: nothing loading any more (this hook runs after useInferd's start).
beforeAll(async () => {
  await vi.waitFor(
    () => {
      const states = inferd.app.registry.list().flatMap((m) => m.versions.map((v) => v.state));
      if (states.length === 0 || states.includes("loading")) throw new Error("still loading");
    },
    { timeout: 30_000, interval: 50 },
  );
});

const transport = () => createConnectTransport({ baseUrl: inferd.baseUrl, httpVersion: "1.1" });

describe("broken models fail alone", () => {
  it("reports a corrupt model.onnx FAILED with a reason in ListModels while iris serves", async () => {
    const { models } = await createClient(ModelService, transport()).listModels({});
    const byName = new Map(models.map((m) => [m.name, m]));
    expect([...byName.keys()]).toEqual(["iris", "iris_typo", "multi_io"]);
    const broken = byName.get("multi_io")?.versions ?? [];
    expect(broken.map((v) => [v.version, v.state])).toEqual([[1, VersionState.FAILED]]);
    // Named inside the repository: the server's own paths stay out of client answers.
    expect(broken[0]?.reason).toContain("cannot load ONNX model multi_io/1/model.onnx");
    expect(broken[0]?.reason).not.toContain(inferd.repo);
    expect(broken[0]?.reason).toContain("Protobuf parsing failed");
    expect(byName.get("iris")?.versions.map((v) => v.state)).toEqual([
      VersionState.READY,
      VersionState.READY,
    ]);

    const inference = createClient(InferenceService, transport());
    const res = await inference.predict({ model: "iris", inputs: irisInputs(IRIS_SAMPLES) });
    const expected = irisExpected(2, IRIS_SAMPLES).probabilities;
    expect(maxAbsDiff(res.outputs.probabilities?.floatData ?? [], expected)).toBeLessThan(1e-6);
    const error = await inference
      .predict({ model: "multi_io", version: 1, inputs: {} })
      .then(() => undefined, ConnectError.from);
    expect(error?.code).toBe(Code.Unavailable);
    expect(error?.rawMessage).toContain("version 1 is failed");
  });

  it("fails a model.json with an unknown key, naming the file and the key", async () => {
    const { model } = await createClient(ModelService, transport()).getModel({ name: "iris_typo" });
    // Named inside the repository: the server's own paths stay out of client answers.
    expect(model?.reason).toBe('iris_typo/model.json: unknown key "lables"');
    const error = await createClient(InferenceService, transport())
      .predict({ model: "iris_typo", inputs: irisInputs(IRIS_SAMPLES) })
      .then(() => undefined, ConnectError.from);
    expect(error?.code).toBe(Code.Unavailable);
    expect(error?.rawMessage).toContain('unknown key "lables"');
  });

  it("keeps /readyz at 503 naming both broken models, /healthz at 200", async () => {
    const ready = await fetch(`${inferd.baseUrl}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { notReady: { model: string; state: string }[] };
    expect(body.notReady.map((n) => [n.model, n.state])).toEqual([
      ["iris_typo", "failed"],
      ["multi_io", "failed"],
    ]);
    expect((await fetch(`${inferd.baseUrl}/healthz`)).status).toBe(200);
  });
});
