import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { ModelService, VersionState } from "../../gen/inferd/v1/model_pb.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";
import {
  IRIS_LABELS,
  IRIS_SAMPLES,
  irisExpected,
  irisInputs,
  maxAbsDiff,
} from "../helpers/iris-reference.js";
import { collectEvents, copyVersion, removeVersion } from "../helpers/model-folders.js";
import { useInferd } from "../helpers/use-inferd.js";

const inferd = useInferd({
  models: ["iris"],
  modelJson: { iris: { labels: IRIS_LABELS, version_policy: "all" } },
  // The flag's unit is seconds: rescan every 150 ms.
  config: { modelControlMode: "poll", pollInterval: 0.15 },
});

const transport = () => createConnectTransport({ baseUrl: inferd.baseUrl, httpVersion: "1.1" });

describe("poll mode over real folders", () => {
  it("serves a new version folder, then drains and unloads a removed one; WatchModels sees each step", async () => {
    const models = createClient(ModelService, transport());
    const inference = createClient(InferenceService, transport());
    const watch = collectEvents((signal) => models.watchModels({ name: "iris" }, { signal }));
    const statesOf = (version: number) =>
      watch.events.filter((e) => e.version === version).map((e) => e.state);
    try {
      // iris/3 is a copy of iris/1: same weights, new number.
      await copyVersion(inferd.repo, "iris", 1, 3);
      await expect
        .poll(() => statesOf(3), { timeout: 20_000 })
        .toEqual([VersionState.LOADING, VersionState.READY]);
      const res = await inference.predict({ model: "iris", inputs: irisInputs(IRIS_SAMPLES) });
      expect(res.version).toBe(3);
      const expected = irisExpected(1, IRIS_SAMPLES).probabilities;
      expect(maxAbsDiff(res.outputs.probabilities?.floatData ?? [], expected)).toBeLessThan(1e-6);

      await removeVersion(inferd.repo, "iris", 2);
      await expect
        .poll(() => statesOf(2), { timeout: 20_000 })
        .toEqual([VersionState.DRAINING, VersionState.UNLOADED]);
      const { model } = await models.getModel({ name: "iris" });
      expect(model?.versions.map((v) => [v.version, v.state])).toEqual([
        [1, VersionState.READY],
        [3, VersionState.READY],
      ]);
      const gone = await inference
        .predict({ model: "iris", version: 2, inputs: irisInputs(IRIS_SAMPLES) })
        .then(() => undefined, ConnectError.from);
      expect(gone?.code).toBe(Code.NotFound);
      expect(gone?.rawMessage).toContain("versions: 1, 3");
      expect(watch.events.every((e) => e.model === "iris")).toBe(true);
      expect(statesOf(1)).toEqual([]);
    } finally {
      await watch.stop();
    }
  });

  it("reloads a version whose model.onnx is replaced in place, then serves the new weights", async () => {
    const inference = createClient(InferenceService, transport());
    const served = async () =>
      (await inference.predict({ model: "iris", version: 1, inputs: irisInputs(IRIS_SAMPLES) }))
        .outputs.probabilities?.floatData ?? [];
    const v1 = irisExpected(1, IRIS_SAMPLES).probabilities;
    const v2 = irisExpected(2, IRIS_SAMPLES).probabilities;
    expect(maxAbsDiff(await served(), v1)).toBeLessThan(1e-6);
    // The fixture's version 2 graph (the MLP) written over version 1's file.
    await copyFile(
      join(FIXTURE_REPO, "iris", "2", "model.onnx"),
      join(inferd.repo, "iris", "1", "model.onnx"),
    );
    await expect
      .poll(async () => maxAbsDiff(await served(), v2), { timeout: 20_000 })
      .toBeLessThan(1e-6);
  });
});
