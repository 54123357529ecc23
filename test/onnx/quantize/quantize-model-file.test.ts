import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GenerativeModel } from "../../../src/generation/generative-model.js";
import { loadGenerativeModel } from "../../../src/generation/load-generative-model.js";
import { OnnxGraph } from "../../../src/onnx/onnx-graph.js";
import { type QuantizeMethod, quantizeModel } from "../../../src/onnx/quantize/quantize-model.js";
import { quantizeModelFile } from "../../../src/onnx/quantize/quantize-model-file.js";
import { writeModelFile } from "../../../src/onnx/write-model-file.js";
import { collectGeneration } from "../../helpers/collect-generation.js";
import { FIXTURE_REPO } from "../../helpers/fixtures.js";
import { agreement, teacherForcedArgmax } from "../../helpers/teacher-forced-argmax.js";

const TINY = join(FIXTURE_REPO, "tiny_llama", "1");
const EXTERNAL = onnxProto.onnx.TensorProto.DataLocation.EXTERNAL;

const initializers = async (path: string) =>
  onnxProto.onnx.ModelProto.decode(await readFile(path)).graph?.initializer ?? [];

describe("quantizeModelFile on a model whose weights are in external data", () => {
  let root = "";
  let fp32: Uint8Array;
  /** tiny_llama saved with every initializer of 1 KiB or more in model.onnx_data. */
  let source = "";
  const models: GenerativeModel[] = [];
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "inferd-quantize-file-"));
    fp32 = await readFile(join(TINY, "model.onnx"));
    source = join(root, "fp32", "model.onnx");
    await mkdir(join(root, "fp32"));
    writeModelFile(OnnxGraph.decode(fp32), source, undefined, 0);
  });
  afterAll(async () => {
    for (const m of models) await m.dispose();
    await rm(root, { recursive: true, force: true });
  });

  /** A copy of tiny_llama's version folder with `model` (and its data file) as model.onnx. */
  async function load(dir: string): Promise<GenerativeModel> {
    const model = await loadGenerativeModel({
      ...{ dir, modelPath: join(dir, "model.onnx"), kvCache: "append" },
      ...{ maxConcurrentSequences: 2, maxWaiting: 0, matmulNBitsAccuracyLevel: 4 },
    });
    models.push(model);
    return model;
  }
  const greedy = (m: GenerativeModel) =>
    collectGeneration(
      m.generate(
        { promptTokenIds: [1, 5, 6, 7, 8, 9], temperature: 0, maxTokens: 24, ignoreEos: true },
        new AbortController().signal,
      ),
    ).then((g) => g.ids);

  it("the source really keeps its weights outside model.onnx", async () => {
    const external = (await initializers(source)).filter((t) => t.dataLocation === EXTERNAL);
    // 2 layers x (q, k, v, o, up, down) + token and position embeddings + lm_head; norms stay.
    expect(external).toHaveLength(15);
  });

  for (const method of ["int4", "int8", "fp16"] as const satisfies readonly QuantizeMethod[]) {
    it(`${method}: writes inline the same bytes as quantizing the inline model`, async () => {
      const out = join(root, `${method}.onnx`);
      const result = quantizeModelFile(source, out, { method });
      const inline = quantizeModel(fp32, { method });
      expect(result).toMatchObject({ changed: inline.changed, dataFile: undefined, dataBytes: 0 });
      expect(Buffer.compare(await readFile(out), inline.bytes)).toBe(0);
    });
  }

  it("int4: agrees with fp32 on ≥ 75% of 200 teacher-forced argmaxes (as the inline copy must)", async () => {
    const out = join(root, "agree.onnx");
    quantizeModelFile(source, out, { method: "int4" });
    const tokens = Array.from({ length: 200 }, (_, i) => 3 + ((i * 7) % 37));
    const [want, got] = [
      await teacherForcedArgmax(fp32, tokens),
      await teacherForcedArgmax(await readFile(out), tokens),
    ];
    expect(agreement(want, got)).toBeGreaterThanOrEqual(0.75);
  });

  it("int4 over the inline limit: weights in <out>_data beside it; loads and generates as the inline copy", async () => {
    const [inlineDir, externalDir] = [join(root, "q4-inline"), join(root, "q4-external")];
    for (const dir of [inlineDir, externalDir]) await cp(TINY, dir, { recursive: true });
    quantizeModelFile(source, join(inlineDir, "model.onnx"), { method: "int4" });
    const result = quantizeModelFile(source, join(externalDir, "model.onnx"), {
      method: "int4",
      inlineLimitBytes: 0,
    });
    expect(result).toMatchObject({ changed: 13, dataFile: "model.onnx_data" });
    expect(result.dataBytes).toBeGreaterThan(result.modelBytes);
    // Packed weights of 1 KiB or more (the FFN's and lm_head's) go out; smaller stay inline.
    const outside = (await initializers(join(externalDir, "model.onnx")))
      .filter((t) => t.dataLocation === EXTERNAL && t.name?.endsWith("_Q4"))
      .map((t) => t.name);
    expect(outside.sort()).toEqual(["l0.w1_Q4", "l0.w2_Q4", "l1.w1_Q4", "l1.w2_Q4", "lm_head_Q4"]);
    const [inline, external] = [await load(inlineDir), await load(externalDir)];
    expect(external.kvCache).toBe("append");
    const ids = await greedy(inline);
    expect(ids).toHaveLength(24);
    expect(await greedy(external)).toEqual(ids);
  });

  it("refuses to write its data file over the weights it reads, leaving them intact", async () => {
    const before = await readFile(join(root, "fp32", "model.onnx_data"));
    expect(() =>
      quantizeModelFile(source, source, { method: "int4", inlineLimitBytes: 0 }),
    ).toThrow(/model\.onnx_data would overwrite the weights it is read from/);
    expect(Buffer.compare(await readFile(join(root, "fp32", "model.onnx_data")), before)).toBe(0);
  });

  it("refuses external data outside the model's folder", async () => {
    const graph = OnnxGraph.decode(await readFile(source));
    const weight = graph.initializers.find((t) => t.dataLocation === EXTERNAL);
    const entry = weight?.externalData?.find((e) => e.key === "location");
    if (entry) entry.value = "../fp32/model.onnx_data";
    const escaping = join(root, "escaping.onnx");
    await writeFile(escaping, graph.finish());
    expect(() => quantizeModelFile(escaping, join(root, "x.onnx"), { method: "int4" })).toThrow(
      /external data location "\.\.\/fp32\/model\.onnx_data" is not inside the model's folder/,
    );
  });
});
