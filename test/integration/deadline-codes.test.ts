import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthCheckRequestSchema } from "../../gen/grpc/health/v1/health_pb.js";
import { GenerateRequestSchema } from "../../gen/inferd/v1/generation_pb.js";
import { LoadModelRequestSchema, WatchModelsRequestSchema } from "../../gen/inferd/v1/model_pb.js";
import { raceAbort } from "../../src/abort/race-abort.js";
import { abortReasonToError } from "../../src/errors/inferd-error.js";
import type { GenerationChunk } from "../../src/generation/generation-chunk.js";
import type { TextGenerator } from "../../src/generation/text-generator.js";
import { createPredictor } from "../../src/inference/predictor.js";
import { createInferdRoutes } from "../../src/services/routes.js";
import { createFakeRegistry, type FakeRegistry } from "../helpers/fake-registry.js";
import { type CallProtocol, callWithServerDeadline } from "../helpers/server-deadline-call.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

/** A registry whose loads never finish: they wait for the caller's signal, as the real one does. */
function slowLoadingRegistry(): FakeRegistry {
  const registry = createFakeRegistry({ m1: true });
  const never = new Promise<never>(() => {});
  return {
    ...registry,
    load: (_name, _versions, signal) => raceAbort(never, signal, abortReasonToError),
  };
}

/** A generator whose stream sends one delta, then nothing until its signal aborts, then ends. */
const slowGenerator: TextGenerator = {
  async start(_call, signal) {
    let sent = false;
    const chunks: AsyncIterableIterator<GenerationChunk> = {
      [Symbol.asyncIterator]() {
        return this;
      },
      async next() {
        if (!sent) {
          sent = true;
          return { done: false, value: { text: "a", tokenIds: [7] } };
        }
        await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
        return { done: true, value: undefined };
      },
      return: async () => ({ done: true, value: undefined }),
    };
    return { model: "m1", version: 1, chunks };
  },
  withModel: () => {
    throw new Error("not used");
  },
};

const bytes = <D extends DescMessage>(schema: D, init: MessageInitShape<D>) =>
  toBinary(schema, create(schema, init));

const CALLS = [
  {
    name: "LoadModel",
    path: "/inferd.v1.ModelService/LoadModel",
    request: bytes(LoadModelRequestSchema, { name: "m1" }),
    stream: false,
  },
  {
    name: "WatchModels",
    path: "/inferd.v1.ModelService/WatchModels",
    request: bytes(WatchModelsRequestSchema, {}),
    stream: true,
  },
  {
    name: "Health Watch",
    path: "/grpc.health.v1.Health/Watch",
    request: bytes(HealthCheckRequestSchema, { service: "" }),
    stream: true,
  },
  {
    name: "Generate",
    path: "/inferd.v1.GenerationService/Generate",
    request: bytes(GenerateRequestSchema, { model: "m1", prompt: "hi" }),
    stream: true,
  },
] as const;
const PROTOCOLS: CallProtocol[] = ["grpc", "grpc-web", "connect"];

describe("a call whose deadline passes on the server ends DEADLINE_EXCEEDED", () => {
  let test: TestServer;
  beforeAll(async () => {
    const registry = slowLoadingRegistry();
    const routes = createInferdRoutes({
      registry,
      predictor: createPredictor({ registry }),
      generator: slowGenerator,
    });
    test = await startTestServer({}, { registry, routes });
  });
  afterAll(async () => {
    await test?.server.shutdown();
  });

  const cases = CALLS.flatMap((call) => PROTOCOLS.map((p) => [call.name, p, call] as const));
  it.each(cases)("%s over %s: never CANCELED nor a clean end", async (_name, protocol, call) => {
    const end = await callWithServerDeadline(test.port, protocol, call, 300);
    expect(end.name).toBe("DeadlineExceeded");
    expect(end.code).toBe(Code.DeadlineExceeded);
  });
});
