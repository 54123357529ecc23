import { create } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextKey,
  createServiceImplSpec,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  InferenceService,
  type PredictRequest,
  PredictRequestSchema,
} from "../../gen/inferd/v1/inference_pb.js";
import { createUnaryCallContext } from "../../src/lean-path/unary-call-context.js";
import { createUnaryInvoker } from "../../src/lean-path/unary-invoker.js";
import type { UnaryMethodSpec } from "../../src/lean-path/unary-method-table.js";

type Predict = (request: PredictRequest, context: HandlerContext) => unknown;

/** Predict as a recorded unary method, answering with `impl`. */
function entryOf(impl: Predict): UnaryMethodSpec {
  const spec = createServiceImplSpec(InferenceService, { predict: impl as never }).methods.predict;
  if (spec?.kind !== "unary") throw new Error("Predict is unary");
  return { service: InferenceService, spec };
}

function callContext(): HandlerContext {
  return createUnaryCallContext({
    protocolName: "grpc",
    service: InferenceService,
    method: InferenceService.method.predict,
    url: "http://localhost/inferd.v1.InferenceService/Predict",
    requestHeader: new Headers({ "x-request-id": "r-1" }),
    timeoutMs: undefined,
    shutdownSignal: new AbortController().signal,
  }).context;
}

const input = () => create(PredictRequestSchema, { model: "iris" });

describe("createUnaryInvoker", () => {
  it("builds the chain once, runs each call through it outermost first", async () => {
    const order: string[] = [];
    let built = 0;
    const tagged =
      (name: string): Interceptor =>
      (next) => {
        built++;
        return (req) => {
          order.push(name);
          return next(req);
        };
      };
    const invoke = createUnaryInvoker(
      entryOf((request) => ({ model: `${request.model}!`, version: 3n })),
      [tagged("outer"), tagged("inner")],
    );
    for (const _ of [1, 2, 3]) {
      const output = await invoke(callContext(), input());
      // An init object comes back as a message of the method's output type.
      expect(output).toMatchObject({ $typeName: "inferd.v1.PredictResponse", model: "iris!" });
    }
    expect(built).toBe(2);
    expect(order).toEqual(["outer", "inner", "outer", "inner", "outer", "inner"]);
  });

  it("hands the handler the call's own context, or one with what an interceptor replaced", async () => {
    const seen: HandlerContext[] = [];
    const entry = entryOf((_request, context) => {
      seen.push(context);
      return {};
    });
    const context = callContext();
    await createUnaryInvoker(entry, [])(context, input());
    expect(seen[0]).toBe(context);
    const key = createContextKey("none");
    const replacing: Interceptor = (next) => (req) => {
      const header = new Headers({ "x-replaced": "yes" });
      return next({ ...req, header, contextValues: req.contextValues.set(key, "set") });
    };
    await createUnaryInvoker(entry, [replacing])(context, input());
    expect(seen[1]).not.toBe(context);
    expect(seen[1]?.requestHeader.get("x-replaced")).toBe("yes");
    expect(seen[1]?.values.get(key)).toBe("set");
    expect(seen[1]?.signal).toBe(context.signal);
    expect(seen[1]?.responseHeader).toBe(context.responseHeader);
  });

  it("copies the headers and trailers of a response an interceptor replaced onto the call's", async () => {
    const replacing: Interceptor = (next) => async (req) => {
      const res = await next(req);
      return {
        ...res,
        header: new Headers({ "x-header": "h" }),
        trailer: new Headers({ "x-trailer": "t" }),
      };
    };
    const context = callContext();
    context.responseHeader.set("x-stale", "gone");
    await createUnaryInvoker(
      entryOf(() => ({})),
      [replacing],
    )(context, input());
    expect([...context.responseHeader]).toEqual([["x-header", "h"]]);
    expect([...context.responseTrailer]).toEqual([["x-trailer", "t"]]);
  });

  it("answers Internal when an interceptor passes on a request it built from scratch", async () => {
    const dropping: Interceptor = (next) => (req) =>
      next({
        stream: false,
        service: req.service,
        method: req.method,
        requestMethod: req.requestMethod,
        url: req.url,
        signal: req.signal,
        header: req.header,
        contextValues: req.contextValues,
        message: req.message,
      } as typeof req);
    const error = await createUnaryInvoker(
      entryOf(() => ({})),
      [dropping],
    )(callContext(), input()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Internal);
    expect((error as ConnectError).rawMessage).toBe("an interceptor dropped the call's context");
  });
});
