import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { ModelService } from "../../gen/inferd/v1/model_pb.js";
import { startInferd } from "../helpers/start-inferd.js";

describe("graceful shutdown with a WatchModels stream open", () => {
  it("does not wait out the grace period for it, and ends it with Unavailable", async () => {
    const inferd = await startInferd({ config: { gracePeriodMs: 20_000 } });
    const models = createClient(ModelService, createGrpcTransport({ baseUrl: inferd.baseUrl }));
    const stream = models.watchModels({ includeCurrent: true })[Symbol.asyncIterator]();
    await stream.next(); // the first current state: the stream is open on the server
    const started = Date.now();
    const ended = (async () => {
      try {
        while (!(await stream.next()).done) {}
        return "ended";
      } catch (error) {
        return ConnectError.from(error).code;
      }
    })();
    await inferd.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await ended).toBe(Code.Unavailable);
  }, 30_000);
});
