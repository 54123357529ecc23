import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../examples/run-example.js";

const read = (path: string) => readFileSync(resolve(REPO_ROOT, path), "utf8");

/** Runs npm in the repository root with no npm_* variables (as a fresh shell would). */
function npmStderr(args: readonly string[]): Promise<string> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)),
  );
  return new Promise((resolvePromise, reject) => {
    execFile("npm", [...args], { cwd: REPO_ROOT, env, timeout: 60_000 }, (error, _out, stderr) =>
      error ? reject(error) : resolvePromise(stderr),
    );
  });
}

describe("skipping onnxruntime-node's CUDA download", () => {
  it("leaves npm nothing to warn about in the project's configuration", async () => {
    expect(await npmStderr(["pkg", "get", "name"])).not.toMatch(/Unknown .*config/);
  }, 60_000);

  it("sets ONNXRUNTIME_NODE_INSTALL=skip before every npm ci of CI and the image", () => {
    const ci = read(".ci/run");
    expect(ci.indexOf("export ONNXRUNTIME_NODE_INSTALL=skip")).toBeGreaterThan(-1);
    expect(ci.indexOf("export ONNXRUNTIME_NODE_INSTALL=skip")).toBeLessThan(ci.search(/^npm ci/m));
    const stages = read("Dockerfile")
      .split(/^FROM /m)
      .slice(1);
    const installing = stages.filter((stage) => stage.includes("npm ci"));
    expect(installing).toHaveLength(2);
    for (const stage of installing) {
      expect(stage.indexOf("ENV ONNXRUNTIME_NODE_INSTALL=skip")).toBeGreaterThan(-1);
      expect(stage.indexOf("ENV ONNXRUNTIME_NODE_INSTALL=skip")).toBeLessThan(
        stage.indexOf("npm ci"),
      );
    }
  });

  it("denies onnxruntime-node's postinstall where npm gates install scripts (allowScripts)", () => {
    const pkg = JSON.parse(read("package.json")) as { allowScripts?: Record<string, boolean> };
    expect(pkg.allowScripts?.["onnxruntime-node"]).toBe(false);
  });

  it("is the variable onnxruntime-node's install script reads", () => {
    const script = read("node_modules/onnxruntime-node/script/install-utils.js");
    expect(script).toContain("process.env.ONNXRUNTIME_NODE_INSTALL ||");
    expect(script).toMatch(/case 'skip':\s+return false;/);
  });
});
