import { create } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createClient,
  createRouterTransport,
  type HandlerContext,
} from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ModelService, WatchModelsRequestSchema } from "../../gen/inferd/v1/model_pb.js";
import { notFound, unavailable } from "../../src/errors/inferd-error.js";
import { withErrorMapping } from "../../src/services/with-error-mapping.js";

/** A ModelService whose handlers fail as their request's name says. */
function setup(onReturn: () => void = () => {}) {
  const logged: unknown[] = [];
  const logger = { error: (obj: object) => logged.push((obj as { err: unknown }).err) };
  const fail = (name: string): never => {
    if (name === "connect") throw new ConnectError("denied", Code.PermissionDenied);
    if (name === "bug") throw new Error("/secret/internals");
    throw notFound(`model "${name}" is unknown`);
  };
  const impl = withErrorMapping(
    ModelService,
    {
      listModels: () => ({ models: [] }),
      getModel: (req) => fail(req.name),
      loadModel: async (req) => fail(req.name),
      unloadModel: () => ({}),
      async *watchModels(req) {
        try {
          yield { model: "first" };
          if (req.name !== "endless") throw unavailable("the registry closed");
          for (;;) yield { model: "more" };
        } finally {
          onReturn();
        }
      },
    },
    logger,
  );
  const transport = createRouterTransport((router) => router.service(ModelService, impl));
  return { logged, impl, client: createClient(ModelService, transport) };
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.fail("expected an error"),
    (error: unknown) => ConnectError.from(error),
  );

describe("withErrorMapping", () => {
  it("maps a unary handler's domain error, thrown or rejected, by the one table", async () => {
    const { client } = setup();
    const thrown = await failure(client.getModel({ name: "m" }));
    expect([thrown.code, thrown.rawMessage]).toEqual([Code.NotFound, 'model "m" is unknown']);
    expect((await failure(client.loadModel({ name: "m" }))).code).toBe(Code.NotFound);
    expect((await client.listModels({})).models).toEqual([]);
  });

  it("passes a ConnectError through and hides anything else as Internal, logged", async () => {
    const { client, logged } = setup();
    const denied = await failure(client.getModel({ name: "connect" }));
    expect([denied.code, denied.rawMessage]).toEqual([Code.PermissionDenied, "denied"]);
    const bug = await failure(client.getModel({ name: "bug" }));
    expect([bug.code, bug.rawMessage]).toEqual([Code.Internal, "internal error (see server log)"]);
    expect(logged).toHaveLength(1);
  });

  it("maps an error a stream throws after its first messages", async () => {
    const { client } = setup();
    const seen: string[] = [];
    const error = await failure(
      (async () => {
        for await (const event of client.watchModels({})) seen.push(event.model);
      })(),
    );
    expect(seen).toEqual(["first"]);
    expect(error.code).toBe(Code.Unavailable);
  });

  it("forwards return() to the handler's generator", async () => {
    let returned = 0;
    const { impl } = setup(() => returned++);
    const request = create(WatchModelsRequestSchema, { name: "endless" });
    const stream = impl.watchModels(request, {} as HandlerContext)[Symbol.asyncIterator]();
    expect((await stream.next()).value).toEqual({ model: "first" });
    await stream.return?.();
    expect(returned).toBe(1);
  });
});
