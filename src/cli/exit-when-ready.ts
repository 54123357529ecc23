import { setTimeout as sleep } from "node:timers/promises";
import type { ServerConfig } from "../config/server-options.js";
import type { Logger } from "../logging/logger.js";
import type { ModelRegistry, NotReadyVersion } from "../registry/model-registry.js";
import { createInferdApp } from "../server/inferd-app.js";

/** How often the loads are looked at while they run: a one-shot command, not a hot path. */
const POLL_MS = 50;

/**
 * `inferd --exit-when-ready`: loads every model exactly as the server would (on an
 * ephemeral loopback port), waits until each version the server would wait for is
 * ready or has failed, shuts down and resolves when all are ready. Why: a generative
 * model's first load checks the append-KV rewrite against the export and caches the
 * rewrite beside it (2-5x a bare session create at 135M parameters); run once at image
 * build time, the server's first start finds it and opens one session. Also a check that
 * a repository loads, for CI.
 * @throws Error naming every version that failed and why (`inferd` exits with status 1),
 *   or what keeps the server from serving at all (an unreadable repository).
 */
export async function loadThenExit(config: ServerConfig, logger: Logger): Promise<void> {
  const server = createInferdApp({ config: { ...config, host: "127.0.0.1", port: 0 }, logger });
  const { started } = await server.listen();
  try {
    await started;
    const failed = await settledLoads(server.registry);
    if (failed.length > 0) {
      throw new Error(`not every model loaded: ${failed.map(describeFailure).join("; ")}`);
    }
    const models = server.registry.list().map((m) => m.name);
    logger.info({ models }, "every model loaded; exiting (--exit-when-ready)");
  } finally {
    await server.shutdown();
  }
}

/** Waits until no version the server waits for is still loading; returns those that are not ready. */
async function settledLoads(registry: ModelRegistry): Promise<NotReadyVersion[]> {
  for (;;) {
    const blockers = registry.notReady();
    if (blockers.every((b) => b.state !== "loading")) return blockers;
    await sleep(POLL_MS);
  }
}

function describeFailure(blocker: NotReadyVersion): string {
  const version = blocker.version === undefined ? "" : ` version ${blocker.version}`;
  return `${blocker.model}${version} ${blocker.state}${blocker.reason ? `: ${blocker.reason}` : ""}`;
}
