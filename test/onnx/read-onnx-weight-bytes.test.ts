import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import { readOnnxWeightBytes } from "../../src/onnx/read-onnx-weight-bytes.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;

/** A model with only initializers: the reader must not need nodes, nor the external file. */
async function writeModel(initializer: onnxProto.onnx.ITensorProto[]): Promise<string> {
  const path = join(tmpdir(), `inferd-weights-${process.pid}-${Math.random()}.onnx`);
  const model = onnx.ModelProto.create({ irVersion: 8, graph: { name: "g", initializer } });
  await writeFile(path, onnx.ModelProto.encode(model).finish());
  return path;
}

describe("readOnnxWeightBytes", () => {
  it("counts raw, typed and external initializers by shape and element size, int4 packed", async () => {
    const path = await writeModel([
      { name: "raw", dataType: T.FLOAT, dims: [2, 2], rawData: new Uint8Array(16) },
      { name: "typed", dataType: T.INT64, dims: [3], int64Data: [1, 2, 3] },
      { name: "scalar", dataType: T.FLOAT16, dims: [], rawData: new Uint8Array(2) },
      {
        name: "external",
        dataType: T.FLOAT16,
        dims: [1000, 300],
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [{ key: "location", value: "absent.onnx_data" }],
      },
      { name: "int4", dataType: 22, dims: [3], rawData: new Uint8Array(2) },
    ]);
    // 16 + 3*8 + 2 + 1000*300*2 + ceil(3/2)
    expect(await readOnnxWeightBytes(path)).toBe(16 + 24 + 2 + 600_000 + 2);
  });

  it("agrees with a full decode of the tiny_llama fixture", async () => {
    const path = join(FIXTURE_REPO, "tiny_llama/1/model.onnx");
    const graph = onnx.ModelProto.decode(await readFile(path)).graph;
    const sizes: Record<number, number> = { [T.FLOAT]: 4, [T.INT64]: 8, [T.INT32]: 4 };
    let expected = 0;
    for (const t of graph?.initializer ?? []) {
      const count = (t.dims ?? []).reduce<number>((p, d) => p * Number(d), 1);
      expected += count * (sizes[t.dataType ?? 0] ?? Number.NaN);
    }
    expect(expected).toBeGreaterThan(100_000);
    expect(await readOnnxWeightBytes(path)).toBe(expected);
  });

  it("throws on a file that is not a protobuf", async () => {
    const path = join(tmpdir(), `inferd-not-onnx-${process.pid}.onnx`);
    await writeFile(path, Buffer.from([0x0f, 0xff, 0xff]));
    await expect(readOnnxWeightBytes(path)).rejects.toThrow();
  });
});
