import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveServerConfig } from "../../src/config/resolve-server-config.js";
import type { ServerConfig } from "../../src/config/server-options.js";
import { createLogger, type Logger } from "../../src/logging/logger.js";
import { createInferdApp, type InferdApp } from "../../src/server/inferd-app.js";
import { FIXTURE_REPO } from "./fixtures.js";

export interface StartInferdOptions {
  /**
   * Serve this existing repository in place: nothing is copied into a temporary one
   * (`models`, `modelJson` and `prepare` do not apply) and nothing is removed on close.
   */
  readonly repository?: string;
  /** Fixture models copied into the temporary repository; default `["iris"]`. */
  readonly models?: readonly string[];
  /** model.json documents written over the copied ones, by model name. */
  readonly modelJson?: Readonly<Record<string, unknown>>;
  /** Runs on the temporary repository before the server starts (extra files, damage). */
  readonly prepare?: (repo: string) => Promise<void>;
  /** Overrides of `resolveServerConfig({}, {})` (port 0, 127.0.0.1, silent, no UI are set). */
  readonly config?: Partial<ServerConfig>;
  /** Default: a silent logger. */
  readonly logger?: Logger;
  /** Wait until GET /readyz answers 200 (default true); false returns once listening. */
  readonly waitReady?: boolean;
}

export interface RunningInferd {
  readonly app: InferdApp;
  readonly port: number;
  readonly baseUrl: string;
  /** The repository served: the server's own copy (add or remove version folders here) unless `repository` was given. */
  readonly repo: string;
  /** `app.shutdown()` (drains calls and connections), then removes the repository. */
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;

/**
 * Starts the production server (`createInferdApp`, exactly what `inferd` runs) on
 * 127.0.0.1 and a free port over a per-test copy of the fixture repository, so
 * that a test may change model folders freely. Resolves once /readyz says ready.
 */
export async function startInferd(options: StartInferdOptions = {}): Promise<RunningInferd> {
  const repo = options.repository ?? (await makeRepository(options));
  const config: ServerConfig = {
    ...resolveServerConfig({}, {}),
    port: 0,
    host: "127.0.0.1",
    logLevel: "silent",
    uiDir: "",
    gracePeriodMs: 2000,
    ...options.config,
    modelRepository: repo,
  };
  const app = createInferdApp({
    config,
    logger: options.logger ?? createLogger({ level: "silent" }),
  });
  const close = async () => {
    await app.shutdown();
    if (options.repository === undefined) await rm(repo, { recursive: true, force: true });
  };
  const { port } = await app.listen();
  const baseUrl = `http://127.0.0.1:${port}`;
  if (options.waitReady ?? true) await waitReady(baseUrl, close);
  return { app, port, baseUrl, repo, close };
}

/** A temporary copy of the fixture `models`, with `modelJson` written and `prepare` run. */
async function makeRepository(options: StartInferdOptions): Promise<string> {
  const repo = await mkdtemp(join(tmpdir(), "inferd-it-"));
  for (const model of options.models ?? ["iris"]) {
    await cp(join(FIXTURE_REPO, model), join(repo, model), { recursive: true });
  }
  for (const [model, json] of Object.entries(options.modelJson ?? {})) {
    await writeFile(join(repo, model, "model.json"), JSON.stringify(json));
  }
  await options.prepare?.(repo);
  return repo;
}

async function waitReady(baseUrl: string, close: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const res = await fetch(`${baseUrl}/readyz`);
    const body = await res.text();
    if (res.status === 200) return;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`inferd not ready after ${READY_TIMEOUT_MS} ms: ${body}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
