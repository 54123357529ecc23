import type { ConnectRouter } from "@connectrpc/connect";
import { resolveServerConfig } from "../../src/config/resolve-server-config.js";
import type { ServerConfig } from "../../src/config/server-options.js";
import { createLogger } from "../../src/logging/logger.js";
import { createInferdServer, type InferdServer } from "../../src/server/inferd-server.js";
import { createFakeRegistry, type FakeRegistry } from "./fake-registry.js";
import { type FakeRouteEvents, fakeRoutes } from "./fake-routes.js";

export interface TestServer {
  server: InferdServer;
  registry: FakeRegistry;
  port: number;
  baseUrl: string;
}

/** A real inferd server on 127.0.0.1, any free port, fake routes (unless given) and registry. */
export async function startTestServer(
  config: Partial<ServerConfig> = {},
  options: {
    registry?: FakeRegistry;
    events?: FakeRouteEvents;
    /** The API routes; default the fake ones (`fakeRoutes`). */
    routes?: (router: ConnectRouter) => void;
  } = {},
): Promise<TestServer> {
  const registry = options.registry ?? createFakeRegistry({ m1: true });
  const server = createInferdServer({
    config: { ...resolveServerConfig({}, {}), port: 0, host: "127.0.0.1", ...config },
    logger: createLogger({ level: "silent" }),
    routes: options.routes ?? fakeRoutes(options.events),
    registry,
  });
  const { port } = await server.listen();
  return { server, registry, port, baseUrl: `http://127.0.0.1:${port}` };
}
