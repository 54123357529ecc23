import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { DataType } from "../../gen/inferd/v1/tensor_pb.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";
import { grpcClient, grpcFailure, grpcPredict } from "../helpers/inferd-grpc.js";
import { IRIS_SAMPLES, irisExpected, irisInputs, maxAbsDiff } from "../helpers/iris-reference.js";
import { useInferd } from "../helpers/use-inferd.js";

/** Iris version `from` of the fixtures, copied to `to` inside the served folder. */
const irisAt = (from: number, to: string) => async (repo: string) => {
  await mkdir(join(repo, to, ".."), { recursive: true });
  await copyFile(join(FIXTURE_REPO, "iris", String(from), "model.onnx"), join(repo, to));
};

/** Predicts the Iris samples on `model` over gRPC; checks the values `irisVersion` must give. */
async function expectIrisAnswer(port: number, model: string, irisVersion: number, version: number) {
  const client = grpcClient(port);
  try {
    const res = await grpcPredict(client, { model, inputs: irisInputs(IRIS_SAMPLES) });
    expect([res.model, res.version]).toEqual([model, version]);
    const probs = res.outputs.probabilities;
    expect([probs?.dtype, probs?.shape]).toEqual([DataType.FLOAT32, [3, 3]]);
    const expected = irisExpected(irisVersion, IRIS_SAMPLES).probabilities;
    expect(maxAbsDiff(probs?.floatData ?? [], expected)).toBeLessThan(1e-6);
    const unknown = await grpcFailure(
      grpcPredict(client, { model: "iris", inputs: irisInputs(IRIS_SAMPLES) }),
    );
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(unknown.details).toContain(model);
  } finally {
    client.close();
  }
}

describe("inferd on a single model's folder (KServe's /mnt/models) with --model-name", () => {
  describe("model.onnx at the top: version 1", () => {
    const inferd = useInferd({
      models: [],
      prepare: irisAt(2, "model.onnx"),
      config: { modelName: "flowers" },
    });
    it("serves Predict under the given name, and no other", async () => {
      await expectIrisAnswer(inferd.port, "flowers", 2, 1);
    });
  });

  describe("version folders 1/model.onnx, 2/model.onnx", () => {
    const inferd = useInferd({
      models: [],
      prepare: async (repo) => {
        await irisAt(1, "1/model.onnx")(repo);
        await irisAt(2, "2/model.onnx")(repo);
      },
      config: { modelName: "flowers" },
    });
    it("serves the newest version under the given name", async () => {
      await expectIrisAnswer(inferd.port, "flowers", 2, 2);
    });
  });
});
