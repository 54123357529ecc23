import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isInferdError } from "../../src/errors/inferd-error.js";
import { createInProcessSession } from "../../src/runtime/in-process-session.js";
import type { LoadedModel } from "../../src/runtime/model-runtime.js";
import { createOnnxRuntime } from "../../src/runtime/onnx-runtime.js";
import type { TensorSpec } from "../../src/tensor/host-tensor.js";
import {
  bytesOf,
  HAS_STORIES,
  LAYERS,
  SKIP_REASON,
  STORIES_PATH,
  storiesFeeds,
} from "./stories-model.js";

function expectedSpecs(): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
  const seq = ["batch_size", "sequence_length"];
  const inputs: TensorSpec[] = [
    { name: "input_ids", dtype: "int64", dims: [-1, -1], dimNames: seq },
    {
      name: "attention_mask",
      dtype: "int64",
      dims: [-1, -1],
      dimNames: ["batch_size", "past_sequence_length + sequence_length"],
    },
    { name: "position_ids", dtype: "int64", dims: [-1, -1], dimNames: seq },
  ];
  const outputs: TensorSpec[] = [
    { name: "logits", dtype: "float32", dims: [-1, -1, 512], dimNames: [...seq, ""] },
  ];
  for (let layer = 0; layer < LAYERS; layer++) {
    for (const kind of ["key", "value"]) {
      inputs.push({
        name: `past_key_values.${layer}.${kind}`,
        dtype: "float32",
        dims: [-1, 4, -1, 8],
        dimNames: ["batch_size", "", "past_sequence_length", ""],
      });
      outputs.push({
        name: `present.${layer}.${kind}`,
        dtype: "float32",
        dims: [-1, 4, -1, 8],
        dimNames: ["batch_size", "", "past_sequence_length + sequence_length", ""],
      });
    }
  }
  return { inputs, outputs };
}

describe.skipIf(!HAS_STORIES)(
  HAS_STORIES
    ? "onnx runtime on stories260k"
    : `onnx runtime on stories260k (skipped: ${SKIP_REASON})`,
  () => {
    let model: LoadedModel;
    beforeAll(async () => {
      model = await createOnnxRuntime().load({
        modelPath: STORIES_PATH,
        instanceCount: 1,
        session: { intraOpThreads: 1, graphOptimizationLevel: "all" },
      });
    });
    afterAll(() => model?.dispose());

    it("reports names, dtypes, -1 dims and symbolic dim names from the session", () => {
      const expected = expectedSpecs();
      expect(model.inputs).toEqual(expected.inputs);
      expect(model.outputs).toEqual(expected.outputs);
    });

    it("returns every output bit for bit equal to an in-process session.run", async () => {
      const local = await createInProcessSession(STORIES_PATH, { graphOptimizationLevel: "all" });
      const want = await local.run(storiesFeeds(2, 6));
      await local.release();
      const got = await model.run(storiesFeeds(2, 6));
      expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      expect(Object.keys(got)).toHaveLength(1 + 2 * LAYERS);
      for (const [name, tensor] of Object.entries(want)) {
        expect(got[name]?.dtype).toBe(tensor.dtype);
        expect(got[name]?.dims).toEqual(tensor.dims);
        expect(bytesOf(got[name]?.data).equals(bytesOf(tensor.data))).toBe(true);
      }
      expect(want.logits?.dims).toEqual([2, 6, 512]);
      expect(want["present.0.key"]?.dims).toEqual([2, 4, 6, 8]);
    });

    it("returns only the requested outputs and transfers the input buffers", async () => {
      const feeds = storiesFeeds(1, 3);
      const out = await model.run(feeds, ["logits"]);
      expect(Object.keys(out)).toEqual(["logits"]);
      expect(out.logits?.dims).toEqual([1, 3, 512]);
      expect((out.logits?.data as Float32Array | undefined)?.length).toBe(3 * 512);
      // Transferred, not copied: the caller's buffer is detached.
      expect((feeds.input_ids?.data as BigInt64Array | undefined)?.byteLength).toBe(0);
    });

    it("rejects an ORT run error as internal with ORT's message as cause", async () => {
      const feeds = storiesFeeds(1, 3);
      feeds["past_key_values.0.key"] = {
        dtype: "float32",
        dims: [1, 5, 0, 8],
        data: new Float32Array(0),
      };
      const error: unknown = await model.run(feeds).catch((e: unknown) => e);
      expect(isInferdError(error) && error.kind).toBe("internal");
      const cause = (error as Error).cause;
      expect(cause).toBeInstanceOf(Error);
      expect((cause as Error).message).toMatch(
        /past_key_values\.0\.key|dimension|Got invalid dimensions/i,
      );
      // The instance survives an ORT error.
      const out = await model.run(storiesFeeds(1, 2), ["logits"]);
      expect(out.logits?.dims).toEqual([1, 2, 512]);
    });
  },
);

describe("onnx runtime load errors", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "inferd-runtime-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("names the path of a missing model file", async () => {
    const path = join(dir, "missing.onnx");
    const error: unknown = await createOnnxRuntime()
      .load({ modelPath: path, instanceCount: 2, session: {} })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(`cannot load ONNX model ${path}`);
    expect((error as Error).message).toMatch(/doesn't exist|no such file/i);
  });

  it("names the path of a corrupt model file", async () => {
    const path = join(dir, "corrupt.onnx");
    await writeFile(path, "this is not a protobuf");
    const error: unknown = await createOnnxRuntime()
      .load({ modelPath: path, instanceCount: 1, session: {} })
      .catch((e: unknown) => e);
    expect((error as Error).message).toContain(`cannot load ONNX model ${path}`);
  });

  it.skipIf(!HAS_STORIES)("rejects with the signal's error when the load is aborted", async () => {
    const error: unknown = await createOnnxRuntime()
      .load({ modelPath: STORIES_PATH, instanceCount: 1, session: {}, signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect(isInferdError(error) && error.kind).toBe("canceled");
  });
});
