import { resolveServerConfig } from "../../src/config/resolve-server-config.js";
import { createLogger } from "../../src/logging/logger.js";
import { createInferdApp, type InferdApp } from "../../src/server/inferd-app.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";

/** The production server (`createInferdApp`) on the fixture repository, every model ready. */
export interface LiveServer {
  readonly app: InferdApp;
  readonly port: number;
  readonly baseUrl: string;
}

const READY_TIMEOUT_MS = 60_000;

/**
 * Starts exactly what `inferd --model-repository <fixtures>` runs, on 127.0.0.1 and
 * a free port, and resolves once every model is ready (so that clients see no
 * UNAVAILABLE while versions load). Call `app.shutdown()` in afterAll.
 */
export async function startLiveServer(): Promise<LiveServer> {
  const app = createInferdApp({
    config: {
      ...resolveServerConfig({}, {}),
      port: 0,
      host: "127.0.0.1",
      logLevel: "silent",
      modelRepository: FIXTURE_REPO,
    },
    logger: createLogger({ level: "silent" }),
  });
  const { port } = await app.listen();
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!app.registry.isReady()) {
    if (Date.now() > deadline) {
      await app.shutdown();
      throw new Error(`models not ready: ${JSON.stringify(app.registry.list())}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { app, port, baseUrl: `http://127.0.0.1:${port}` };
}
