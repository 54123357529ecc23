import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin, REPO_ROOT } from "../examples/run-example.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";

/** Runs `inferd --exit-when-ready` (src/cli/main.ts through tsx) on `repo` to its exit. */
function loadThenExit(repo: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      bin("tsx"),
      ["src/cli/main.ts", "--exit-when-ready", "--model-repository", repo, "--log-level", "silent"],
      { cwd: REPO_ROOT, timeout: 90_000 },
      (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
    );
  });
}

describe("inferd --exit-when-ready", () => {
  let root: string;
  let repo: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "inferd-exit-when-ready-"));
    repo = join(root, "models");
    await cp(join(FIXTURE_REPO, "iris"), join(repo, "iris"), { recursive: true });
    const llm = join(repo, "tiny_llama", "1");
    await mkdir(llm, { recursive: true });
    // The fp32 export and its tokenizer only: the quantized siblings are other models' files.
    const files = [
      "config.json",
      "generation_config.json",
      "tokenizer.json",
      "tokenizer_config.json",
    ];
    for (const file of [...files, "model.onnx"]) {
      await cp(join(FIXTURE_REPO, "tiny_llama", "1", file), join(llm, file));
    }
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("loads every model, leaves the checked KV-cache rewrite beside the LLM, exits 0", async () => {
    const { code, stderr } = await loadThenExit(repo);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const cached = (await readdir(join(repo, "tiny_llama", "1"))).filter((f) =>
      f.startsWith(".inferd-append-kv-"),
    );
    expect(cached).toHaveLength(1);
  }, 90_000);

  it("exits 1 naming the version that failed and why", async () => {
    await mkdir(join(repo, "broken", "1"), { recursive: true });
    await writeFile(join(repo, "broken", "1", "model.onnx"), "not an onnx model");
    const { code, stderr } = await loadThenExit(repo);
    expect(code).toBe(1);
    expect(stderr).toContain(
      "not every model loaded: broken version 1 failed: cannot load ONNX model",
    );
    expect(stderr).not.toContain("iris");
  }, 90_000);
});
