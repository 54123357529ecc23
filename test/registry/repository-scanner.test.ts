import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readOnnxInputNames } from "../../src/onnx/read-onnx-input-names.js";
import { scanRepository } from "../../src/registry/repository-scanner.js";
import { makeRepo, removeRepo } from "./registry-fixtures.js";

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const len = (field: number, body: Buffer) =>
  Buffer.concat([Buffer.from([...varint(field * 8 + 2), ...varint(body.length)]), body]);
const int = (field: number, value: number) => Buffer.from([...varint(field * 8), ...varint(value)]);
const valueInfo = (name: string) =>
  len(11, Buffer.concat([len(1, Buffer.from(name)), len(2, Buffer.from([8, 1]))]));

/** A minimal ONNX ModelProto: ir_version, a graph with a node, a 300 KB initializer and inputs. */
function onnxModel(inputs: string[]): Buffer {
  const graph = Buffer.concat([
    len(1, Buffer.from("node-bytes")),
    len(5, Buffer.alloc(300_000, 7)),
    int(99, 5),
    ...inputs.map(valueInfo),
    len(12, len(1, Buffer.from("logits"))),
  ]);
  return Buffer.concat([int(1, 8), len(2, Buffer.from("pytorch")), len(7, graph)]);
}

const repos: string[] = [];
afterEach(async () => {
  await Promise.all(repos.splice(0).map(removeRepo));
});

describe("readOnnxInputNames", () => {
  it("reads graph input names, skipping weights larger than its read window", async () => {
    const repo = await makeRepo({});
    repos.push(repo);
    const path = join(repo, "m.onnx");
    await writeFile(path, onnxModel(["input_ids", "attention_mask", "past_key_values.0.key"]));
    expect(await readOnnxInputNames(path)).toEqual([
      "input_ids",
      "attention_mask",
      "past_key_values.0.key",
    ]);
  });
});

describe("scanRepository", () => {
  it("lists numeric version folders ascending and ignores other folders", async () => {
    const repo = await makeRepo({ iris: { versions: [10, 2, 1] }, "text-gen": { versions: [] } });
    repos.push(repo);
    await mkdir(join(repo, "iris", "latest"));
    await mkdir(join(repo, "iris", "0"));
    await mkdir(join(repo, ".hidden"));
    const scans = await scanRepository(repo);
    expect(scans.map((s) => [s.name, s.versions, s.kind])).toEqual([
      ["iris", [1, 2, 10], "predict"],
      ["text-gen", [], "predict"],
    ]);
    expect(scans[0]?.config?.versionPolicy).toEqual({ latest: 1 });
    expect(scans[0]?.dir).toBe(join(repo, "iris"));
  });

  it("fails only the model whose model.json is bad, with the file in the reason", async () => {
    const repo = await makeRepo({
      good: { versions: [1], config: { labels: ["a"] } },
      typo: { versions: [1], config: { lables: ["a"] } },
      broken: { versions: [1], config: "{ not json" },
    });
    repos.push(repo);
    const byName = new Map((await scanRepository(repo)).map((s) => [s.name, s]));
    expect(byName.get("good")?.config?.labels).toEqual(["a"]);
    expect(byName.get("typo")?.configError).toBe('typo/model.json: unknown key "lables"');
    expect(byName.get("typo")?.config).toBeUndefined();
    expect(byName.get("broken")?.configError).toMatch(/^broken\/model\.json: not valid JSON/);
  });

  it("detects generative models from tokenizer, HF config and a KV-cache signature", async () => {
    const repo = await makeRepo({
      llm: { versions: [] },
      nokv: { versions: [] },
      forced: { versions: [], config: { kind: "predict" } },
    });
    repos.push(repo);
    for (const [name, inputs] of [
      ["llm", ["input_ids", "attention_mask", "past_key_values.0.key"]],
      ["nokv", ["input_ids", "attention_mask"]],
      ["forced", ["input_ids", "past_key_values.0.key"]],
    ] as const) {
      const dir = join(repo, name, "1");
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "model.onnx"), onnxModel([...inputs]));
      await writeFile(join(dir, "tokenizer.json"), "{}");
      await writeFile(join(dir, "config.json"), "{}");
    }
    const kinds = Object.fromEntries((await scanRepository(repo)).map((s) => [s.name, s.kind]));
    expect(kinds).toEqual({ forced: "predict", llm: "generate", nokv: "predict" });
  });
});
