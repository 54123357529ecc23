import { execFile } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: examples run from there, as the README shows them. */
export const REPO_ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** `node_modules/.bin/<name>`: what `npx <name>` runs, without npx's own start-up. */
export const bin = (name: string): string => resolve(REPO_ROOT, "node_modules/.bin", name);

/** Guards against a hung example; not a speed check (the suite shares two cores). */
const HANG_TIMEOUT_MS = 120_000;

/**
 * Runs one example as a child process in the repository root and resolves with its
 * stdout. Rejects with stderr in the message when it exits non-zero, so that a
 * failing example shows why.
 */
export function runExample(
  file: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      file,
      [...args],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env },
        timeout: HANG_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error)
          reject(new Error(`${file} ${args.join(" ")} failed: ${error.message}\n${stderr}`));
        else resolvePromise(stdout);
      },
    );
  });
}
