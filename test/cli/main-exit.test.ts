import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { bin, REPO_ROOT } from "../examples/run-example.js";

/** Runs `inferd` (src/cli/main.ts through tsx) to its exit: the status and stderr. */
function runInferd(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      bin("tsx"),
      ["src/cli/main.ts", "--port", "0", "--host", "127.0.0.1", "--log-level", "silent", ...args],
      { cwd: REPO_ROOT, timeout: 60_000 },
      (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
    );
  });
}

describe("inferd exits with status 1 and says why when it cannot serve", () => {
  it("a model repository that cannot be read", async () => {
    const { code, stderr } = await runInferd(["--model-repository", "/nonexistent-inferd-repo"]);
    expect(code).toBe(1);
    expect(stderr).toContain('cannot read the model repository "/nonexistent-inferd-repo"');
  }, 60_000);

  it("a TLS file that cannot be read, naming its flag", async () => {
    const { code, stderr } = await runInferd([
      "--model-repository",
      "/nonexistent-inferd-repo",
      "--tls-cert",
      "/nonexistent.pem",
      "--tls-key",
      "/nonexistent.key",
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain("--tls-cert /nonexistent.pem: ENOENT");
  }, 60_000);
});
