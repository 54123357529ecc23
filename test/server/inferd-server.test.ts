import http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "../../gen/grpc/health/v1/health_pb.js";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { InferenceService, PredictRequestSchema } from "../../gen/inferd/v1/inference_pb.js";
import { createFakeRegistry } from "../helpers/fake-registry.js";
import { grpcClient, grpcPredict } from "../helpers/inferd-grpc.js";
import { viaHttp2 } from "../helpers/raw-exchange.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { useHttp2Sessions } from "../helpers/use-http2-sessions.js";

const LIMIT = 4096;
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer(
    { maxRequestBytes: LIMIT },
    { registry: createFakeRegistry({ m1: true, m2: false }) },
  );
});
afterAll(async () => {
  await t.server.shutdown();
});
const h2 = useHttp2Sessions(() => t.baseUrl);

describe("one port, every protocol", () => {
  it("answers grpc-js over h2c", async () => {
    const client = grpcClient(t.port);
    try {
      const res = await grpcPredict(client, { model: "iris", requestId: "grpc-1" });
      expect(res.model).toBe("iris");
      expect(res.version).toBe(7);
      expect(res.requestId).toBe("grpc-1");
    } finally {
      client.close();
    }
  });

  it.each([
    [
      "Connect over HTTP/1.1",
      () => createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "1.1" }),
    ],
    [
      "Connect over HTTP/2",
      () => createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "2", sessionManager: h2() }),
    ],
    [
      "gRPC-Web over HTTP/1.1",
      () => createGrpcWebTransport({ baseUrl: t.baseUrl, httpVersion: "1.1" }),
    ],
    [
      "gRPC-Web over HTTP/2",
      () => createGrpcWebTransport({ baseUrl: t.baseUrl, httpVersion: "2", sessionManager: h2() }),
    ],
  ])("answers %s", async (name, transport) => {
    const client = createClient(InferenceService, transport());
    const res = await client.predict({ model: "iris", requestId: name });
    expect(res.requestId).toBe(name);
    expect(res.version).toBe(7);
  });

  it("takes a deadline beyond what a Node timer holds (30 days, 10 digits) as none", async () => {
    // The fake "patient" model takes `version` ms unless the deadline fires first: a timer
    // that overflowed to 1 ms would fail these DeadlineExceeded.
    const json = await fetch(`${t.baseUrl}/inferd.v1.InferenceService/Predict`, {
      method: "POST",
      headers: { "content-type": "application/json", "connect-timeout-ms": "9999999999" },
      body: JSON.stringify({ model: "patient", version: 30, requestId: "far" }),
    });
    expect(json.status).toBe(200);
    const session = http2.connect(t.baseUrl);
    try {
      for (const timeout of ["720H", "99999999H", "2592000S"]) {
        const body = toBinary(
          PredictRequestSchema,
          create(PredictRequestSchema, { model: "patient", version: 30 }),
        );
        const frame = Buffer.alloc(5 + body.length);
        frame.writeUInt32BE(body.length, 1);
        frame.set(body, 5);
        const status = await new Promise<string | undefined>((resolve, reject) => {
          const req = session.request({
            ":method": "POST",
            ":path": "/inferd.v1.InferenceService/Predict",
            "content-type": "application/grpc",
            te: "trailers",
            "grpc-timeout": timeout,
          });
          let seen: string | undefined;
          req.on("response", (h) => (seen ??= h["grpc-status"] as string | undefined));
          req.on("trailers", (h) => (seen ??= h["grpc-status"] as string | undefined));
          req.on("end", () => resolve(seen));
          req.on("error", reject);
          req.resume();
          req.end(frame);
        });
        expect([timeout, status]).toEqual([timeout, "0"]);
      }
    } finally {
      session.close();
    }
  });

  it("answers a plain fetch JSON POST", async () => {
    const res = await fetch(`${t.baseUrl}/inferd.v1.InferenceService/Predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "iris", requestId: "json-1" }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ model: "iris", version: 7, requestId: "json-1" });
  });

  it("refuses a JSON body that is not UTF-8 with InvalidArgument, on the lean and connect-node paths", async () => {
    const body = Buffer.concat([
      Buffer.from('{"model":"ir'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('is","requestId":"u"}'),
    ]);
    const lean = { "content-type": "application/json" };
    // A gzipped body is not the lean path's: connect-node answers it.
    const node = { ...lean, "content-encoding": "gzip" };
    for (const [headers, sent] of [
      [lean, body],
      [node, gzipSync(body)],
    ] as const) {
      const res = await fetch(`${t.baseUrl}/inferd.v1.InferenceService/Predict`, {
        method: "POST",
        headers,
        body: sent,
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        code: "invalid_argument",
        message:
          "the request body is not valid UTF-8: byte 0xff at offset 12; send text encoded as UTF-8",
      });
    }
  });

  it("refuses a binary message whose string is not UTF-8 with InvalidArgument (proto3 strings)", async () => {
    // PredictRequest{model: "ir\xff\xfeis"}: field 1, length 6. protobuf-es verifies
    // UTF-8 in proto3 strings in binary, as grpc-go does; no decoder of ours is involved.
    const message = [0x0a, 6, 0x69, 0x72, 0xff, 0xfe, 0x69, 0x73];
    const grpc = await viaHttp2(
      t.port,
      {
        ":method": "POST",
        ":path": "/inferd.v1.InferenceService/Predict",
        "content-type": "application/grpc",
        te: "trailers",
      },
      new Uint8Array([0, 0, 0, 0, message.length, ...message]),
    );
    expect(grpc.head["grpc-status"]).toBe(String(Code.InvalidArgument));
    expect(grpc.head["grpc-message"]).toContain("not valid for encoding utf-8");
  });

  it("fails an oversized request ResourceExhausted, naming the limit", async () => {
    const client = createClient(
      InferenceService,
      createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "1.1" }),
    );
    const err = await client
      .predict({ model: "iris", requestId: "x".repeat(LIMIT * 2) })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((err as ConnectError).message).toContain(String(LIMIT));
  });
});

describe("probes", () => {
  it("/healthz is 200 while live; /readyz is 503 naming the model not ready, then 200", async () => {
    expect((await fetch(`${t.baseUrl}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${t.baseUrl}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({
      status: "not ready",
      shuttingDown: false,
      notReady: [{ model: "m2", version: 1, state: "loading" }],
    });
    t.registry.setReady("m2", true);
    const ready = await fetch(`${t.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready" });
    t.registry.setReady("m2", false);
  });
});

describe("health", () => {
  it("Watch over gRPC shows a model going NOT_SERVING -> SERVING", async () => {
    t.registry.setReady("m3", false);
    const client = createClient(
      Health,
      createGrpcTransport({ baseUrl: t.baseUrl, sessionManager: h2() }),
    );
    const abort = new AbortController();
    const seen: Status[] = [];
    for await (const res of client.watch({ service: "m3" }, { signal: abort.signal })) {
      seen.push(res.status);
      if (res.status === Status.NOT_SERVING) t.registry.setReady("m3", true);
      if (res.status === Status.SERVING) break;
    }
    expect(seen).toEqual([Status.NOT_SERVING, Status.SERVING]);
    // Breaking out does not cancel a connect-node stream; aborting does. Then the
    // server-side Watch must unsubscribe from the registry.
    expect(t.registry.subscribers()).toBe(1);
    abort.abort();
    await expect.poll(() => t.registry.subscribers(), { timeout: 2000 }).toBe(0);
    // The server answers as /readyz does: not serving while m2 loads, serving once it is ready.
    expect((await client.check({ service: "" })).status).toBe(Status.NOT_SERVING);
    t.registry.setReady("m2", true);
    expect((await client.check({ service: "" })).status).toBe(Status.SERVING);
    t.registry.setReady("m2", false);
  });
});

type ReflectionResponse = v1.ServerReflectionResponse | v1alpha.ServerReflectionResponse;

/** Sends reflection requests over one grpc-js bidi stream and collects the answers. */
async function reflect(
  version: typeof v1 | typeof v1alpha,
  requests: Array<v1.ServerReflectionRequest["messageRequest"]>,
): Promise<ReflectionResponse[]> {
  const client = grpcClient(t.port);
  const pkg = version === v1 ? "grpc.reflection.v1" : "grpc.reflection.v1alpha";
  const call = client.makeBidiStreamRequest(
    `/${pkg}.ServerReflection/ServerReflectionInfo`,
    (m: Uint8Array) => Buffer.from(m),
    (b: Buffer) => fromBinary(version.ServerReflectionResponseSchema, b) as ReflectionResponse,
  );
  const answers: ReflectionResponse[] = [];
  const done = new Promise<void>((resolve, reject) => {
    call.on("data", (r: ReflectionResponse) => answers.push(r));
    call.on("end", resolve);
    call.on("error", reject);
  });
  for (const messageRequest of requests) {
    const req = create(v1.ServerReflectionRequestSchema, { messageRequest });
    call.write(toBinary(v1.ServerReflectionRequestSchema, req));
  }
  call.end();
  await done;
  client.close();
  return answers;
}

describe.each([
  ["v1", v1],
  ["v1alpha", v1alpha],
] as const)("reflection %s through grpc-js", (_name, version) => {
  it("lists services and returns decodable descriptors with dependencies", async () => {
    const [list, file, missing] = await reflect(version, [
      { case: "listServices", value: "" },
      { case: "fileContainingSymbol", value: "inferd.v1.InferenceService" },
      { case: "fileContainingSymbol", value: "no.such.Thing" },
    ]);
    expect(list?.messageResponse.case).toBe("listServicesResponse");
    const names =
      list?.messageResponse.case === "listServicesResponse"
        ? list.messageResponse.value.service.map((s) => s.name)
        : [];
    expect(names).toEqual(
      expect.arrayContaining([
        "inferd.v1.InferenceService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ]),
    );
    expect(file?.messageResponse.case).toBe("fileDescriptorResponse");
    const protos =
      file?.messageResponse.case === "fileDescriptorResponse"
        ? file.messageResponse.value.fileDescriptorProto.map((b) =>
            fromBinary(FileDescriptorProtoSchema, b),
          )
        : [];
    expect(protos[0]?.name).toBe("inferd/v1/inference.proto");
    expect(protos[0]?.service.map((s) => s.name)).toEqual(["InferenceService"]);
    expect(protos.map((p) => p.name)).toContain("inferd/v1/tensor.proto");
    expect(missing?.messageResponse.case).toBe("errorResponse");
    expect(missing?.messageResponse.value).toMatchObject({ errorCode: grpc.status.NOT_FOUND });
  });
});
