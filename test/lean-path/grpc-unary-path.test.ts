import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  InferenceService,
  type PredictRequest,
  PredictRequestSchema,
  PredictResponseSchema,
  type PredictStreamRequest,
  PredictStreamRequestSchema,
  type PredictStreamResponse,
  PredictStreamResponseSchema,
} from "../../gen/inferd/v1/inference_pb.js";
import { notFound } from "../../src/errors/inferd-error.js";
import { createGrpcUnaryPath } from "../../src/lean-path/grpc-unary-path.js";
import { createUnaryMethodTable } from "../../src/lean-path/unary-method-table.js";
import {
  createOnePortListener,
  type OnePortListener,
} from "../../src/listener/one-port-listener.js";
import { grpcFailure, grpcPredict } from "../helpers/inferd-grpc.js";

const LIMIT = 2000;
const seen: { protocol: string; signal?: AbortSignal }[] = [];
let claimed = 0;
let listener: OnePortListener;
let port: number;
let client: grpc.Client;

/** Predict echoes the model name; "slow" waits for its signal; "fail" throws with metadata. */
function routes(router: ConnectRouter): void {
  router.service(InferenceService, {
    async predict(request, context) {
      seen.push({ protocol: context.protocolName, signal: context.signal });
      context.responseHeader.set("x-echo", context.requestHeader.get("x-in") ?? "");
      context.responseTrailer.set("x-trailer", "t");
      if (request.model === "slow") {
        await new Promise((_, reject) =>
          context.signal.addEventListener("abort", () => reject(context.signal.reason)),
        );
      }
      if (request.model === "fail") {
        throw new ConnectError('input "x": rank 1, 100% wrong', Code.InvalidArgument, {
          "x-why": "because",
        });
      }
      return { model: request.model, requestId: request.requestId };
    },
    async *predictStream(requests) {
      for await (const r of requests)
        yield {
          result: { result: { case: "response", value: { model: r.request?.model ?? "" } } },
        };
    },
  });
}

/**
 * Tags every call that passes the interceptors, whichever path carried it. Model "bug"
 * throws a plain Error before the handler, model "gone" a domain error.
 */
const tagging: Interceptor = (next) => async (req) => {
  const model = req.stream ? undefined : (req.message as PredictRequest).model;
  if (model === "bug") throw new Error("secret internals at /srv/x.ts:42");
  if (model === "gone") throw notFound('model "gone" is unknown');
  const res = await next(req);
  res.header.set("x-intercepted", "yes");
  return res;
};

beforeAll(async () => {
  const table = createUnaryMethodTable();
  const interceptors = [tagging];
  const connect = connectNodeAdapter({
    routes: (router) => routes(table.recording(router)),
    interceptors,
    readMaxBytes: LIMIT,
  });
  const fast = createGrpcUnaryPath({
    methods: table.methods,
    interceptors,
    readMaxBytes: LIMIT,
    shutdownSignal: new AbortController().signal,
  });
  listener = createOnePortListener({
    handler: connect,
    claimStream: (stream, headers) => {
      const mine = fast(stream, headers);
      if (mine) claimed++;
      return mine;
    },
  });
  port = await listener.listen(0, "127.0.0.1");
  client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  await listener?.close();
});

/** A Predict stream opened by hand, so that a test controls its bytes and its end. */
function rawPredict(
  session: http2.ClientHttp2Session,
  extra: http2.OutgoingHttpHeaders = {},
): http2.ClientHttp2Stream {
  return session.request({
    ":method": "POST",
    ":path": "/inferd.v1.InferenceService/Predict",
    "content-type": "application/grpc",
    te: "trailers",
    ...extra,
  });
}

/** A gRPC length-prefixed message (uncompressed). */
function envelope(request: PredictRequest): Buffer {
  const message = toBinary(PredictRequestSchema, request);
  const bytes = Buffer.alloc(5 + message.length);
  bytes.writeUInt32BE(message.length, 1);
  bytes.set(message, 5);
  return bytes;
}

/** The call's grpc-status, from a trailers-only response or from the trailers. */
function grpcStatusOf(stream: http2.ClientHttp2Stream): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    stream.once("response", (headers) => {
      if (headers["grpc-status"] !== undefined) resolve(String(headers["grpc-status"]));
    });
    stream.once("trailers", (trailers) => resolve(String(trailers["grpc-status"])));
    stream.once("error", reject);
    // A stream reset without any status settles too, as a failure, instead of hanging.
    stream.once("close", () => reject(new Error("the stream closed without a grpc-status")));
    stream.resume();
  });
}

describe("the gRPC unary fast path", () => {
  it("serves a grpc-js Predict with the interceptors, response headers and trailers", async () => {
    const before = claimed;
    const metadata = new grpc.Metadata();
    metadata.set("x-in", "hello");
    const headers = new Promise<grpc.Metadata>((resolve) => {
      const call = client.makeUnaryRequest(
        "/inferd.v1.InferenceService/Predict",
        (value: PredictRequest) => Buffer.from(toBinary(PredictRequestSchema, value)),
        (bytes: Buffer) => fromBinary(PredictResponseSchema, bytes),
        create(PredictRequestSchema, { model: "m", requestId: "r1" }),
        metadata,
        () => {},
      );
      call.on("metadata", resolve);
    });
    const header = await headers;
    expect(header.get("x-echo")).toEqual(["hello"]);
    expect(header.get("x-intercepted")).toEqual(["yes"]);
    const response = await grpcPredict(client, { model: "m", requestId: "r2" });
    expect(response.model).toBe("m");
    expect(response.requestId).toBe("r2");
    expect(claimed - before).toBe(2);
    expect(seen.at(-1)?.protocol).toBe("grpc");
  });

  it("sends errors with code, spec-encoded message and metadata", async () => {
    const error = await grpcFailure(grpcPredict(client, { model: "fail" }));
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toBe('input "x": rank 1, 100% wrong');
    expect(error.metadata.get("x-why")).toEqual(["because"]);
  });

  it("answers an unexpected error with Internal and no internals", async () => {
    const error = await grpcFailure(grpcPredict(client, { model: "bug" }));
    expect(error.code).toBe(grpc.status.INTERNAL);
    expect(error.details).toBe("internal error");
  });

  it("answers a domain error thrown before the handler with its table code", async () => {
    const before = claimed;
    const error = await grpcFailure(grpcPredict(client, { model: "gone" }));
    expect([error.code, error.details]).toEqual([grpc.status.NOT_FOUND, 'model "gone" is unknown']);
    expect(claimed - before).toBe(1);
  });

  it("honours grpc-timeout: DeadlineExceeded, and the handler's signal aborts", async () => {
    // By hand, with no client-side timer: grpc-js resets the call at its own deadline,
    // which races the server's timer (the reason then is Canceled) and would report
    // DEADLINE_EXCEEDED whether or not the server answered.
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const stream = rawPredict(session, { "grpc-timeout": "100m" });
      stream.end(envelope(create(PredictRequestSchema, { model: "slow" })));
      const status = await grpcStatusOf(stream);
      expect(status).toBe(String(grpc.status.DEADLINE_EXCEEDED));
    } finally {
      session.close();
    }
    const signal = seen.at(-1)?.signal as AbortSignal;
    await expect.poll(() => signal.aborted).toBe(true);
    expect(ConnectError.from(signal.reason).code).toBe(Code.DeadlineExceeded);
  });

  it("aborts the handler's signal with Canceled when the client cancels", async () => {
    const calls = seen.length;
    const call = client.makeUnaryRequest(
      "/inferd.v1.InferenceService/Predict",
      (value: PredictRequest) => Buffer.from(toBinary(PredictRequestSchema, value)),
      (bytes: Buffer) => fromBinary(PredictResponseSchema, bytes),
      create(PredictRequestSchema, { model: "slow" }),
      () => {},
    );
    await expect.poll(() => seen.length).toBe(calls + 1);
    const signal = seen.at(-1)?.signal as AbortSignal;
    call.cancel();
    await expect.poll(() => signal.aborted).toBe(true);
    expect(ConnectError.from(signal.reason).code).toBe(Code.Canceled);
  });

  it("survives a client that resets a running call with INTERNAL_ERROR (not CANCEL)", async () => {
    const calls = seen.length;
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const stream = rawPredict(session);
      stream.on("error", () => {});
      stream.end(envelope(create(PredictRequestSchema, { model: "slow" })));
      await expect.poll(() => seen.length).toBe(calls + 1);
      const signal = seen.at(-1)?.signal as AbortSignal;
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      await expect.poll(() => signal.aborted).toBe(true);
    } finally {
      session.close();
    }
    // The process is still here, and serving.
    expect((await grpcPredict(client, { model: "after-reset" })).model).toBe("after-reset");
  });

  it("refuses a message over readMaxBytes with ResourceExhausted", async () => {
    const error = await grpcFailure(grpcPredict(client, { model: "x".repeat(LIMIT + 1) }));
    expect(error.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(error.details).toContain(`limit of ${LIMIT} bytes (--max-request-bytes)`);
  });

  it.each([
    ["a truncated envelope", {}, [0, 0, 0, 0, 9, 1], "protocol error: premature end of stream"],
    // Field 1 (model, a string) whose length runs past the end of the message.
    ["bytes that are not a PredictRequest", {}, [0, 0, 0, 0, 2, 0x0a, 0x7f], "parse binary"],
    ["an invalid grpc-timeout", { "grpc-timeout": "soon" }, [0, 0, 0, 0, 0], "grpc timeout"],
  ])("answers %s with InvalidArgument, and keeps serving", async (_case, extra, body, message) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const stream = rawPredict(session, extra);
      stream.end(Buffer.from(body));
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) =>
        stream.once("response", resolve),
      );
      stream.resume();
      expect(headers["grpc-status"]).toBe(String(grpc.status.INVALID_ARGUMENT));
      expect(decodeURIComponent(String(headers["grpc-message"]))).toContain(message);
    } finally {
      session.close();
    }
    expect((await grpcPredict(client, { model: "after" })).model).toBe("after");
  });

  it("leaves compressed requests and streaming methods to Connect", async () => {
    const before = claimed;
    const gzip = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      "grpc.default_compression_algorithm": grpc.compressionAlgorithms.gzip,
    });
    try {
      const response = await grpcPredict(gzip, { model: "zipped" });
      expect(response.model).toBe("zipped");
      const streamed = await new Promise<string>((resolve, reject) => {
        const call = client.makeBidiStreamRequest(
          "/inferd.v1.InferenceService/PredictStream",
          (value: PredictStreamRequest) => Buffer.from(toBinary(PredictStreamRequestSchema, value)),
          (bytes: Buffer) => fromBinary(PredictStreamResponseSchema, bytes),
        );
        call.on("data", (m: PredictStreamResponse) =>
          resolve(m.result?.result.case === "response" ? m.result.result.value.model : ""),
        );
        call.on("error", reject);
        call.write(create(PredictStreamRequestSchema, { request: { model: "s" } }));
        call.end();
      });
      expect(streamed).toBe("s");
      expect(claimed).toBe(before);
    } finally {
      gzip.close();
    }
  });
});
