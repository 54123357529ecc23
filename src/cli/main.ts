#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { ServerConfig } from "../config/server-options.js";
import { createLogger } from "../logging/logger.js";
import { createInferdApp } from "../server/inferd-app.js";
import { createServerCommand } from "./server-command.js";

/**
 * Starts the server with `config` and runs until SIGTERM or SIGINT, then shuts
 * down gracefully; resolves when shutdown finished (exit code 0). A second
 * signal during the drain exits at once with code 1; a registry that cannot start
 * (see `listen`) shuts the server down and rejects (exit code 1).
 */
export async function runServer(config: ServerConfig): Promise<void> {
  const logger = createLogger({ level: config.logLevel });
  const server = createInferdApp({ config, logger });
  const { started } = await server.listen();
  const stop = await new Promise<{ signal: NodeJS.Signals } | { error: unknown }>((resolve) => {
    process.once("SIGTERM", (signal) => resolve({ signal }));
    process.once("SIGINT", (signal) => resolve({ signal }));
    started.catch((error: unknown) => resolve({ error }));
  });
  if ("error" in stop) {
    // Nothing can be served (no repository, an unknown --load-model): exit 1 so that
    // an orchestrator restarts or reports it, instead of a live pod that is never ready.
    await server.shutdown();
    throw stop.error;
  }
  const { signal } = stop;
  logger.info({ signal }, "received signal, draining");
  const force = (second: NodeJS.Signals) => {
    logger.warn({ signal: second }, "second signal, exiting without waiting for the drain");
    process.exit(1);
  };
  process.once("SIGTERM", force);
  process.once("SIGINT", force);
  await server.shutdown();
}

/** Parses argv (flags over INFERD_* env over defaults) and runs the server. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  await createServerCommand({ env, run: runServer }).parseAsync([...argv]);
}

const invokedDirectly =
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) {
  main(process.argv, process.env).then(
    () => {
      process.exitCode = 0;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exitCode = 1;
    },
  );
}
