import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "../../gen/grpc/health/v1/health_pb.js";
import { createHealthService } from "../../src/services/health-service.js";
import { createFakeRegistry } from "../helpers/fake-registry.js";
import { fakeRoutes } from "../helpers/fake-routes.js";

function setup(models: Record<string, boolean>, started?: Promise<void>, recheckMs?: number) {
  const registry = createFakeRegistry(models);
  const shutdown = new AbortController();
  const transport = createRouterTransport(
    createHealthService({
      registry,
      shutdownSignal: shutdown.signal,
      ...(started && { started }),
      ...(recheckMs !== undefined && { recheckMs }),
    }),
  );
  return { registry, shutdown, client: createClient(Health, transport) };
}

describe("Health.Check", () => {
  it("reports the server, each model's readiness, and NotFound for unknown models", async () => {
    const { client, shutdown, registry } = setup({ ready: true, loading: false });
    // The server, as /readyz: not serving until every model it loads is ready.
    expect((await client.check({ service: "" })).status).toBe(Status.NOT_SERVING);
    expect((await client.check({ service: "ready" })).status).toBe(Status.SERVING);
    expect((await client.check({ service: "loading" })).status).toBe(Status.NOT_SERVING);
    registry.setReady("loading", true);
    expect((await client.check({ service: "" })).status).toBe(Status.SERVING);
    const err = await client.check({ service: "nope" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
    expect((err as ConnectError).rawMessage).toContain('"nope"');
    shutdown.abort();
    expect((await client.check({ service: "" })).status).toBe(Status.NOT_SERVING);
    expect((await client.check({ service: "ready" })).status).toBe(Status.NOT_SERVING);
  });
});

describe("Health.Check by service name", () => {
  it("serves every service on the router, those registered after it included, as the server", async () => {
    const registry = createFakeRegistry({ m: false });
    const shutdown = new AbortController();
    const health = createHealthService({ registry, shutdownSignal: shutdown.signal });
    const transport = createRouterTransport((router) => {
      health(router);
      fakeRoutes()(router);
    });
    const client = createClient(Health, transport);
    const status = async (service: string) => (await client.check({ service })).status;
    for (const service of ["inferd.v1.InferenceService", "grpc.health.v1.Health"]) {
      expect(await status(service)).toBe(Status.NOT_SERVING);
    }
    registry.setReady("m", true);
    for (const service of ["", "inferd.v1.InferenceService", "grpc.health.v1.Health"]) {
      expect(await status(service)).toBe(Status.SERVING);
    }
    const err = await client.check({ service: "inferd.v1.Nope" }).catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.NotFound);
    shutdown.abort();
    expect(await status("inferd.v1.InferenceService")).toBe(Status.NOT_SERVING);
  });
});

describe("Health.Watch", () => {
  it("streams changes, SERVICE_UNKNOWN for a model not there yet, NOT_SERVING on shutdown", async () => {
    const { client, registry, shutdown } = setup({});
    const abort = new AbortController();
    const seen: Status[] = [];
    const stream = client.watch({ service: "late" }, { signal: abort.signal });
    for await (const res of stream) {
      seen.push(res.status);
      if (seen.length === 1) registry.setReady("late", false);
      if (seen.length === 2) {
        registry.setReady("late", false); // no change: must not be sent again
        registry.setReady("late", true);
      }
      if (seen.length === 3) shutdown.abort();
      if (seen.length === 4) break;
    }
    expect(seen).toEqual([
      Status.SERVICE_UNKNOWN,
      Status.NOT_SERVING,
      Status.SERVING,
      Status.NOT_SERVING,
    ]);
    // Unsubscribing when the client goes away is checked over real HTTP in
    // test/server/inferd-server.test.ts: the in-memory transport pulls lazily.
  });

  it("re-checks the server when the registry's start settles, which no event marks", async () => {
    let markStarted = () => {};
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const { client, registry } = setup({ m: true }, started);
    let ready = false;
    registry.isReady = () => ready;
    const seen: Status[] = [];
    for await (const res of client.watch({ service: "" })) {
      seen.push(res.status);
      if (seen.length === 1) {
        ready = true;
        markStarted();
      }
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([Status.NOT_SERVING, Status.SERVING]);
  });
  it("re-checks on its own too: a readiness change that no event marks still reaches it", async () => {
    const { client, registry } = setup({ m: true }, undefined, 50);
    let ready = false;
    registry.isReady = () => ready;
    const seen: Status[] = [];
    const started = Date.now();
    for await (const res of client.watch({ service: "" })) {
      seen.push(res.status);
      if (seen.length === 1) ready = true; // no event
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([Status.NOT_SERVING, Status.SERVING]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("lets go of its registry listener when the client leaves", async () => {
    const { client, registry } = setup({ m: true });
    const before = registry.subscribers();
    const controller = new AbortController();
    const watching = (async () => {
      for await (const _ of client.watch({ service: "m" }, { signal: controller.signal })) {
        expect(registry.subscribers()).toBe(before + 1);
        controller.abort();
      }
    })().catch(() => {});
    await watching;
    await expect.poll(() => registry.subscribers()).toBe(before);
  });
});
