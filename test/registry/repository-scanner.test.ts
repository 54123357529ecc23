import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readOnnxInputNames } from "../../src/onnx/read-onnx-input-names.js";
import {
  defaultSingleModelName,
  repositoryOf,
  versionDir,
} from "../../src/registry/model-layout.js";
import { scanModel, scanRepository } from "../../src/registry/repository-scanner.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";
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

describe("scanRepository: a single model's folder (KServe's /mnt/models)", () => {
  const IRIS_ONNX = join(FIXTURE_REPO, "iris", "1", "model.onnx");

  /** A temp folder `<tmp>/<folder>` holding the iris fixture at each relative path given. */
  async function singleFolder(folder: string, files: readonly string[]): Promise<string> {
    const parent = await makeRepo({});
    repos.push(parent);
    const dir = join(parent, folder);
    for (const file of files) {
      await mkdir(dirname(join(dir, file)), { recursive: true });
      await copyFile(IRIS_ONNX, join(dir, file));
    }
    return dir;
  }

  it("serves a bare model.onnx as version 1 of the model --model-name names", async () => {
    const dir = await singleFolder("mnt-models", ["model.onnx"]);
    const scans = await scanRepository(dir, { modelName: "flowers" });
    expect(scans.map((s) => [s.name, s.layout, s.versions, s.dir, s.kind])).toEqual([
      ["flowers", "single-file", [1], dir, "predict"],
    ]);
    const [scan] = scans;
    if (scan === undefined) throw new Error("no scan");
    expect(versionDir(scan, 1)).toBe(dir);
    expect(repositoryOf(scan)).toBe(dir);
    expect(scan.config?.versionPolicy).toEqual({ latest: 1 });
  });

  it("serves numbered folders as versions; they win over a bare model.onnx beside them", async () => {
    const dir = await singleFolder("models", ["1/model.onnx", "3/model.onnx", "model.onnx"]);
    await mkdir(join(dir, "latest"));
    const [scan] = await scanRepository(dir, { modelName: "flowers" });
    expect([scan?.name, scan?.layout, scan?.versions]).toEqual(["flowers", "single", [1, 3]]);
    if (scan === undefined) throw new Error("no scan");
    expect(versionDir(scan, 3)).toBe(join(dir, "3"));
  });

  it("without --model-name, names a top-level model.onnx after the folder", async () => {
    const dir = await singleFolder("iris-model", ["model.onnx"]);
    const scans = await scanRepository(dir);
    expect(scans.map((s) => [s.name, s.layout, s.versions])).toEqual([
      ["iris-model", "single-file", [1]],
    ]);
    expect(defaultSingleModelName("/")).toBe("model");
    expect(defaultSingleModelName("/mnt/models/")).toBe("models");
  });

  it("without --model-name and without a top-level model.onnx, reads model folders as before", async () => {
    const dir = await singleFolder("repo", ["1/model.onnx", "iris/1/model.onnx"]);
    const scans = await scanRepository(dir);
    expect(scans.map((s) => [s.name, s.layout, s.versions])).toEqual([
      ["1", "repository", []],
      ["iris", "repository", [1]],
    ]);
  });

  it("reads an optional model.json beside the versions, naming it without a model folder", async () => {
    const dir = await singleFolder("models", ["model.onnx"]);
    await writeFile(join(dir, "model.json"), JSON.stringify({ labels: ["a", "b", "c"] }));
    expect((await scanRepository(dir, { modelName: "m" }))[0]?.config?.labels).toEqual([
      "a",
      "b",
      "c",
    ]);
    await writeFile(join(dir, "model.json"), JSON.stringify({ lables: [] }));
    expect((await scanRepository(dir, { modelName: "m" }))[0]?.configError).toBe(
      'model.json: unknown key "lables"',
    );
  });

  it("scanModel answers only for the single model's name; a missing folder throws", async () => {
    const dir = await singleFolder("models", ["2/model.onnx"]);
    expect((await scanModel(dir, "flowers", { modelName: "flowers" })).versions).toEqual([2]);
    await expect(scanModel(dir, "iris", { modelName: "flowers" })).rejects.toThrow(
      'the repository is the folder of model "flowers"',
    );
    await expect(scanRepository(join(dir, "absent"), { modelName: "m" })).rejects.toThrow(/ENOENT/);
  });
});
