#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { ServerConfig } from "../config/server-options.js";
import { createLogger, type Logger } from "../logging/logger.js";
import { createInferdApp } from "../server/inferd-app.js";
import { loadThenExit } from "./exit-when-ready.js";
import { createQuantizeCommand } from "./quantize-command.js";
import { createServerCommand } from "./server-command.js";

/**
 * A signal this soon after the one that started the drain is taken as the same
 * shutdown delivered twice, not as an impatient operator: `npm start` under a
 * process-group SIGTERM (systemd, `kill -- -PGID`) gets the signal itself and
 * again from npm, which forwards it to its child.
 */
export const REPEATED_SIGNAL_WINDOW_MS = 1000;

/**
 * Starts the server with `config` and runs until SIGTERM or SIGINT, then shuts
 * down gracefully; resolves when shutdown finished (exit code 0). A further
 * signal during the drain exits at once with code 1, unless it comes within
 * {@link REPEATED_SIGNAL_WINDOW_MS} of the first; a registry that cannot start
 * (see `listen`) shuts the server down and rejects (exit code 1). With
 * `--exit-when-ready`, loads every model and returns instead (see `loadThenExit`).
 */
export async function runServer(config: ServerConfig): Promise<void> {
  const logger = createLogger({ level: config.logLevel });
  if (config.exitWhenReady) return loadThenExit(config, logger);
  const server = createInferdApp({ config, logger });
  const { started } = await server.listen();
  const stop = await new Promise<{ signal: NodeJS.Signals } | { error: unknown }>((resolve) => {
    onShutdownSignals(logger, (signal) => resolve({ signal }));
    started.catch((error: unknown) => resolve({ error }));
  });
  if ("error" in stop) {
    // Nothing can be served (no repository, an unknown --load-model): exit 1 so that
    // an orchestrator restarts or reports it, instead of a live pod that is never ready.
    await server.shutdown();
    throw stop.error;
  }
  logger.info({ signal: stop.signal }, "received signal, draining");
  await server.shutdown();
}

/**
 * Calls `first` on the first SIGTERM or SIGINT; a later one exits with code 1, unless
 * within {@link REPEATED_SIGNAL_WINDOW_MS} of the first. One listener stays for good:
 * swapping a `once` listener for another left a moment with none, when a signal
 * (npm's forwarded copy) took the default action and killed the process mid-drain.
 */
function onShutdownSignals(logger: Logger, first: (signal: NodeJS.Signals) => void): void {
  let firstAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstAt === undefined) {
      firstAt = Date.now();
      first(signal);
    } else if (Date.now() - firstAt < REPEATED_SIGNAL_WINDOW_MS) {
      logger.info({ signal }, "signal repeated within 1 s of the first, still draining");
    } else {
      logger.warn({ signal }, "second signal, exiting without waiting for the drain");
      process.exit(1);
    }
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

/**
 * Parses argv (flags over INFERD_* env over defaults) and runs the server, or the
 * `quantize` subcommand.
 */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const command = createServerCommand({ env, run: runServer });
  command.addCommand(createQuantizeCommand({ print: (line) => console.log(line) }));
  await command.parseAsync([...argv]);
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
