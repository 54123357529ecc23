import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGraphBuilder } from "../../scripts/fixtures/onnx-graph-builder.js";
import { createSeededRandom } from "../../scripts/fixtures/seeded-random.js";
import { createQuantizeCommand } from "../../src/cli/quantize-command.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";

const MODEL = join(FIXTURE_REPO, "tiny_llama", "1", "model.onnx");

async function run(args: string[]) {
  const lines: string[] = [];
  let stderr = "";
  const command = createQuantizeCommand({ print: (line) => lines.push(line) })
    .exitOverride()
    .configureOutput({ writeErr: (s) => (stderr += s), writeOut: () => {} });
  const error = await command.parseAsync(["node", "quantize", ...args]).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { lines, stderr, error };
}

const opTypes = async (path: string) =>
  onnxProto.onnx.ModelProto.decode(await readFile(path)).graph?.node?.map((n) => n.opType) ?? [];

describe("inferd quantize", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "inferd-quantize-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("writes MatMulNBits with the block size and accuracy level asked for", async () => {
    const out = join(dir, "q4.onnx");
    const args = ["--method", "int4", "--block-size", "16", "--accuracy-level", "0"];
    const { lines, error } = await run([...args, "--keep-lm-head", MODEL, out]);
    expect(error).toBeUndefined();
    // tiny_llama: 2 layers x (q, k, v, o, up, down) = 12 MatMuls; the lm_head stays float.
    expect(lines).toEqual([expect.stringMatching(/^int4: 12 MatMuls quantized, .* MB -> .* MB: /)]);
    const model = onnxProto.onnx.ModelProto.decode(await readFile(out));
    const nbits = model.graph?.node?.filter((n) => n.opType === "MatMulNBits") ?? [];
    expect(nbits).toHaveLength(12);
    const attrs = Object.fromEntries(nbits[0]?.attribute?.map((a) => [a.name, Number(a.i)]) ?? []);
    expect(attrs).toMatchObject({ bits: 4, block_size: 16, accuracy_level: 0, K: 32 });
    expect(model.opsetImport?.some((o) => o.domain === "com.microsoft")).toBe(true);
  });

  it("writes int8 as DynamicQuantizeLinear + MatMulInteger, and fp16 without float32 weights", async () => {
    await run(["--method", "int8", MODEL, join(dir, "q8.onnx")]);
    const int8 = await opTypes(join(dir, "q8.onnx"));
    expect(int8.filter((op) => op === "MatMulInteger")).toHaveLength(13);
    expect(int8.filter((op) => op === "DynamicQuantizeLinear")).toHaveLength(13);
    // What stays MatMul multiplies activations: scores and context, 2 per layer.
    expect(int8.filter((op) => op === "MatMul")).toHaveLength(4);
    await run(["--method", "fp16", MODEL, join(dir, "f16.onnx")]);
    const fp16 = onnxProto.onnx.ModelProto.decode(await readFile(join(dir, "f16.onnx")));
    const floatWeights = fp16.graph?.initializer?.filter(
      (t) => t.dataType === 1 && t.dims?.length === 2,
    );
    expect(floatWeights).toEqual([]);
    expect(
      fp16.graph?.input?.find((i) => i.name === "past_key_values.0.key")?.type?.tensorType
        ?.elemType,
    ).toBe(10);
  });

  it("says when it quantized a tied output projection, MatMul(x, Transpose(embedding))", async () => {
    const g = createGraphBuilder();
    g.input("h", "float32", ["m", 32]);
    g.input("ids", "int64", ["m"]);
    g.output("logits", "float32", ["m", 16]);
    g.output("rows", "float32", ["m", 32]);
    g.initializer("embed_tokens", createSeededRandom(5).normals(16 * 32, 0.5), [16, 32]);
    g.node("Gather", ["embed_tokens", "ids"], ["rows"]);
    g.node("Transpose", ["embed_tokens"], ["embed_t"], { perm: [1, 0] });
    g.node("MatMul", ["h", "embed_t"], ["logits"]);
    const tied = join(dir, "tied.onnx");
    await writeFile(tied, g.toBytes());
    const { lines } = await run(["--method", "int4", tied, join(dir, "tied_q4.onnx")]);
    expect(lines).toEqual([
      expect.stringMatching(
        /^int4: 1 MatMuls quantized \(tied output projection Transpose\(embed_tokens\) included\), .* MB -> /,
      ),
    ]);
    const kept = await run(["--method", "int8", "--keep-lm-head", tied, join(dir, "tied_q8.onnx")]);
    expect(kept.lines).toEqual([expect.stringMatching(/^int8: 0 MatMuls quantized, /)]);
  });

  it("refuses a block size that is not a power of two of at least 16, writing nothing", async () => {
    const out = join(dir, "bad.onnx");
    const { stderr, error } = await run(["--method", "int4", "--block-size", "24", MODEL, out]);
    expect(error).toMatchObject({ code: "commander.invalidArgument", exitCode: 1 });
    expect(stderr).toMatch(
      /'--block-size <n>' argument '24' is invalid\. expected a power of two of at least 16/,
    );
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
  });
});
