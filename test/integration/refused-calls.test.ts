import * as http2 from "node:http2";
import * as net from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type PredictStreamRequest,
  PredictStreamRequestSchema,
  PredictStreamResponseSchema,
} from "../../gen/inferd/v1/inference_pb.js";
import { captureLogs, type LogLine } from "../helpers/captured-logs.js";
import { grpcClient, grpcFailure, grpcPredict } from "../helpers/inferd-grpc.js";
import { IRIS_SAMPLES, irisInputs } from "../helpers/iris-reference.js";
import { type Scrape, scrapeMetrics } from "../helpers/scrape-metrics.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

/**
 * Calls connect-es (and the lean gRPC path) refuse before any interceptor runs must
 * still get one access-log line and move the RPC counters by one, with the code the
 * client read; calls that reach the interceptors must not be recorded twice.
 */
const MAX_REQUEST_BYTES = 1024;
const PREDICT = "/inferd.v1.InferenceService/Predict";
const PREDICT_LABELS = {
  grpc_service: "inferd.v1.InferenceService",
  grpc_method: "Predict",
  grpc_type: "unary",
};
const HANDLED = "inferd_grpc_server_handled_total";
const STARTED = "inferd_grpc_server_started_total";

const logs = captureLogs();
const { rpcLines } = logs;
let inferd: RunningInferd;
let client: grpc.Client;

beforeAll(async () => {
  inferd = await startInferd({
    models: ["iris"],
    config: { maxRequestBytes: MAX_REQUEST_BYTES },
    logger: logs.logger,
  });
  client = grpcClient(inferd.port);
});
afterAll(async () => {
  client?.close();
  await inferd?.close();
});

/** Waits for the one line of `requestId`, then for one more turn, to catch a second one. */
async function onlyLine(requestId: string): Promise<LogLine> {
  await expect.poll(() => rpcLines(requestId).length, { timeout: 5000 }).toBeGreaterThan(0);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const found = rpcLines(requestId);
  expect(found).toHaveLength(1);
  return found[0] as LogLine;
}

const delta = (before: Scrape, after: Scrape, name: string, labels: Record<string, string>) =>
  after.total(name, labels) - before.total(name, labels);

/** The change of the Predict counters for `protocol` across `call`, once its log line is out. */
async function countersAcross(
  protocol: string,
  requestId: string,
  call: () => Promise<unknown>,
  method: Record<string, string> = PREDICT_LABELS,
): Promise<{ line: LogLine; handled: (code: string) => number; started: number }> {
  const before = await scrapeMetrics(inferd.baseUrl);
  await call();
  const line = await onlyLine(requestId);
  const after = await scrapeMetrics(inferd.baseUrl);
  const labels = { ...method, protocol };
  return {
    line,
    handled: (code) => delta(before, after, HANDLED, { ...labels, grpc_code: code }),
    started: delta(before, after, STARTED, labels),
  };
}

/** One HTTP/1.1 request with fetch; the body as bytes. */
async function post(
  contentType: string,
  body: Uint8Array | string,
  headers: Record<string, string>,
  path = PREDICT,
) {
  const res = await fetch(`${inferd.baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": contentType, ...headers },
    body,
  });
  return {
    status: res.status,
    headers: res.headers,
    body: new Uint8Array(await res.arrayBuffer()),
  };
}

/** A length-prefixed message (gRPC, gRPC-Web) holding `data`. */
function envelope(data: Uint8Array, declared = data.byteLength): Uint8Array {
  const out = Buffer.alloc(5 + data.byteLength);
  out.writeUInt32BE(declared, 1);
  out.set(data, 5);
  return out;
}

/** One raw HTTP/2 gRPC request; the response head and trailers. */
function h2post(
  headers: http2.OutgoingHttpHeaders,
  body: Uint8Array,
): Promise<{ head: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(inferd.baseUrl);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": PREDICT,
      te: "trailers",
      ...headers,
    });
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    stream.on("response", (h) => (head = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("error", reject);
    stream.resume();
    stream.on("close", () => {
      session.close();
      resolve({ head, trailers });
    });
    stream.end(body);
  });
}

/** The gRPC-Web trailer frame of a response body, as "key: value" lines. */
function grpcWebTrailer(body: Uint8Array): string {
  const view = Buffer.from(body);
  for (let at = 0; at + 5 <= view.byteLength; at += 5 + view.readUInt32BE(at + 1)) {
    if ((view[at] ?? 0) & 0x80)
      return view.subarray(at + 5, at + 5 + view.readUInt32BE(at + 1)).toString();
  }
  return "";
}

const UNDECODABLE = new Uint8Array([0xff, 0xff, 0xff, 0xff]);
const OK_REQUEST = JSON.stringify({ model: "iris", inputs: irisInputs(IRIS_SAMPLES.slice(0, 1)) });

describe("calls refused before any interceptor runs", () => {
  it("logs and counts an oversize Connect JSON body once, resource_exhausted", async () => {
    const id = "refused-connect-oversize";
    const big = JSON.stringify({ model: "iris", requestId: "x".repeat(MAX_REQUEST_BYTES) });
    let sent = { status: 0, code: "" };
    const { line, handled, started } = await countersAcross("connect", id, async () => {
      const res = await post("application/json", big, { "x-request-id": id });
      sent = { status: res.status, code: JSON.parse(Buffer.from(res.body).toString()).code };
    });
    expect(sent).toEqual({ status: 429, code: "resource_exhausted" });
    expect(line).toMatchObject({
      level: 40,
      procedure: PREDICT,
      protocol: "connect",
      code: "resource_exhausted",
      refused: true,
    });
    expect(line.peer).toMatch(/127\.0\.0\.1$/);
    expect(line.error).toBe(
      `message size ${big.length} is larger than the server's limit of ${MAX_REQUEST_BYTES} bytes (--max-request-bytes)`,
    );
    expect(handled("ResourceExhausted")).toBe(1);
    expect(started).toBe(1);
  });

  it("logs and counts undecodable binary protobuf over Connect once, invalid_argument", async () => {
    const id = "refused-connect-binary";
    let code = "";
    const { line, handled, started } = await countersAcross("connect", id, async () => {
      const res = await post("application/proto", UNDECODABLE, { "x-request-id": id });
      code = JSON.parse(Buffer.from(res.body).toString()).code;
    });
    // connect-es says Internal ("parse binary"); inferd re-codes it (asRequestParseError).
    expect(code).toBe("invalid_argument");
    expect(line).toMatchObject({
      level: 40,
      protocol: "connect",
      code: "invalid_argument",
      refused: true,
    });
    expect(line.error).toMatch(/^parse binary/);
    expect(handled("InvalidArgument")).toBe(1);
    expect(started).toBe(1);
  });

  it("logs and counts undecodable binary protobuf over gRPC-Web once", async () => {
    const id = "refused-grpc-web-binary";
    let trailer = "";
    const { line, handled } = await countersAcross("grpc_web", id, async () => {
      const res = await post("application/grpc-web+proto", envelope(UNDECODABLE), {
        "x-request-id": id,
      });
      expect(res.status).toBe(200);
      trailer = grpcWebTrailer(res.body);
    });
    expect(trailer).toMatch(/grpc-status: ?3\b/);
    expect(line).toMatchObject({ protocol: "grpc_web", code: "invalid_argument", refused: true });
    expect(handled("InvalidArgument")).toBe(1);
  });

  it("logs and counts a malformed connect-timeout-ms once, invalid_argument", async () => {
    const id = "refused-connect-timeout";
    let sent = { status: 0, code: "" };
    const { line, handled } = await countersAcross("connect", id, async () => {
      const res = await post("application/json", OK_REQUEST, {
        "x-request-id": id,
        "connect-timeout-ms": "soon",
      });
      sent = { status: res.status, code: JSON.parse(Buffer.from(res.body).toString()).code };
    });
    expect(sent).toEqual({ status: 400, code: "invalid_argument" });
    expect(line).toMatchObject({ protocol: "connect", code: "invalid_argument", refused: true });
    expect(handled("InvalidArgument")).toBe(1);
  });

  it("logs and counts an unsupported content type once, as the bare 415 reads (unknown)", async () => {
    const id = "refused-media-type";
    let status = 0;
    const { line, handled } = await countersAcross("connect", id, async () => {
      status = (await post("text/plain", "hello", { "x-request-id": id })).status;
    });
    expect(status).toBe(415);
    expect(line).toMatchObject({
      code: "unknown",
      refused: true,
      error: "HTTP 415 Unsupported Media Type",
    });
    expect(handled("Unknown")).toBe(1);
  });

  it("logs and counts a gRPC message over the limit on Connect's gRPC path (grpc+json) once", async () => {
    const id = "refused-grpc-json-oversize";
    let status: unknown;
    const { line, handled } = await countersAcross("grpc", id, async () => {
      const body = envelope(new Uint8Array(MAX_REQUEST_BYTES + 1).fill(0x20));
      const res = await h2post(
        { "content-type": "application/grpc+json", "x-request-id": id },
        body,
      );
      status = res.trailers["grpc-status"] ?? res.head["grpc-status"];
    });
    expect(status).toBe("8");
    expect(line).toMatchObject({ protocol: "grpc", code: "resource_exhausted", refused: true });
    expect(handled("ResourceExhausted")).toBe(1);
  });
});

describe("refused calls that are compressed, on HTTP/2, or whose client left", () => {
  it("reads a gzipped Connect error body (and survives it), invalid_argument", async () => {
    // connect-es gzips an error body of 1 KiB or more for a client that accepts gzip:
    // an unknown field of ~990 characters is named in the message.
    const id = "refused-connect-gzip";
    const body = JSON.stringify({ model: "iris", ["f".repeat(990)]: 1 });
    let sent = { status: 0, encoding: "", code: "" };
    const { line, handled } = await countersAcross("connect", id, async () => {
      const res = await fetch(`${inferd.baseUrl}${PREDICT}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "accept-encoding": "gzip",
          "x-request-id": id,
        },
        body,
      });
      const encoding = res.headers.get("content-encoding") ?? "";
      sent = { status: res.status, encoding, code: ((await res.json()) as { code: string }).code };
    });
    expect(sent).toEqual({ status: 400, encoding: "gzip", code: "invalid_argument" });
    expect(line).toMatchObject({ protocol: "connect", code: "invalid_argument", refused: true });
    expect(line.error).toMatch(/is unknown/);
    expect(handled("InvalidArgument")).toBe(1);
    const ok = await post("application/json", OK_REQUEST, {});
    expect(ok.status).toBe(200);
  });

  it("names the peer of a refused call over HTTP/2 (Connect JSON over the limit)", async () => {
    const id = "refused-connect-h2";
    const big = JSON.stringify({ model: "iris", requestId: "x".repeat(MAX_REQUEST_BYTES) });
    let status: unknown;
    const { line, handled } = await countersAcross("connect", id, async () => {
      const res = await h2post(
        { "content-type": "application/json", "x-request-id": id },
        Buffer.from(big),
      );
      status = res.head[":status"];
    });
    expect(status).toBe(429);
    expect(line).toMatchObject({ code: "resource_exhausted", refused: true });
    expect(line.peer).toMatch(/127\.0\.0\.1$/);
    expect(handled("ResourceExhausted")).toBe(1);
  });

  it("logs and counts a call whose client left while sending its body, canceled", async () => {
    const id = "refused-client-left";
    const { line, handled } = await countersAcross("connect", id, async () => {
      const socket = net.connect(inferd.port, "127.0.0.1");
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.write(
        `POST ${PREDICT} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
          `x-request-id: ${id}\r\ncontent-length: 500\r\n\r\n{"model":`,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.destroy();
    });
    expect(line).toMatchObject({ protocol: "connect", code: "canceled", refused: true });
    expect(handled("Canceled")).toBe(1);
  });
});

describe("calls the lean gRPC path refuses before any interceptor runs", () => {
  it("logs and counts an oversize grpc-js Predict once, resource_exhausted", async () => {
    const id = "refused-grpc-oversize";
    const metadata = new grpc.Metadata();
    metadata.set("x-request-id", id);
    let code: number | undefined;
    const { line, handled, started } = await countersAcross("grpc", id, async () => {
      const request = { model: "iris", requestId: "y".repeat(MAX_REQUEST_BYTES) };
      code = (await grpcFailure(grpcPredict(client, request, {}, metadata))).code;
    });
    expect(code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(line).toMatchObject({
      level: 40,
      procedure: PREDICT,
      protocol: "grpc",
      code: "resource_exhausted",
      refused: true,
    });
    expect(line.peer).toMatch(/127\.0\.0\.1$/);
    expect(handled("ResourceExhausted")).toBe(1);
    expect(started).toBe(1);
  });

  it("logs and counts an undecodable body and a bad grpc-timeout once each, invalid_argument", async () => {
    for (const [id, extra, body] of [
      ["refused-grpc-binary", {}, envelope(UNDECODABLE)],
      ["refused-grpc-timeout", { "grpc-timeout": "soon" }, envelope(new Uint8Array())],
    ] as const) {
      let status: unknown;
      const { line, handled } = await countersAcross("grpc", id, async () => {
        const headers = { "content-type": "application/grpc", "x-request-id": id, ...extra };
        const res = await h2post(headers, body);
        status = res.trailers["grpc-status"] ?? res.head["grpc-status"];
      });
      expect(status).toBe("3");
      expect(line).toMatchObject({ protocol: "grpc", code: "invalid_argument", refused: true });
      expect(handled("InvalidArgument")).toBe(1);
    }
  });
});

describe("calls that reach the interceptors", () => {
  it("are logged and counted exactly once on every path", async () => {
    // The server echoes (or makes up) a request id in its response, which the line prefers.
    const json = (requestId: string, body: object = { inputs: irisInputs(IRIS_SAMPLES) }) =>
      JSON.stringify({ model: "iris", requestId, ...body });
    const calls: [string, string, number, () => Promise<unknown>][] = [
      [
        "grpc",
        "seen-grpc",
        200,
        () =>
          grpcPredict(client, {
            model: "iris",
            requestId: "seen-grpc",
            inputs: irisInputs(IRIS_SAMPLES),
          }),
      ],
      [
        "grpc",
        "seen-grpc-bad",
        400,
        () => grpcFailure(grpcPredict(client, { model: "iris", requestId: "seen-grpc-bad" })),
      ],
      ["connect", "seen-connect", 200, () => post("application/json", json("seen-connect"), {})],
      [
        "connect",
        "seen-connect-bad",
        400,
        () => post("application/json", json("seen-connect-bad", {}), {}),
      ],
    ];
    for (const [protocol, id, status, call] of calls) {
      const { line, handled, started } = await countersAcross(protocol, id, async () => {
        const res = await call();
        if (protocol === "connect") expect((res as { status: number }).status).toBe(status);
      });
      expect(line.refused).toBeUndefined();
      expect(line.code).toBe(status === 200 ? "ok" : "invalid_argument");
      expect(handled(status === 200 ? "OK" : "InvalidArgument")).toBe(1);
      expect(started).toBe(1);
    }
  });
  it("count a bidi PredictStream over gRPC once, not as refused", async () => {
    const id = "seen-predict-stream";
    const stream = { ...PREDICT_LABELS, grpc_method: "PredictStream", grpc_type: "bidi_stream" };
    let answers = 0;
    const { line, handled, started } = await countersAcross(
      "grpc",
      id,
      () =>
        new Promise<void>((resolve, reject) => {
          const metadata = new grpc.Metadata();
          metadata.set("x-request-id", id);
          const call = client.makeBidiStreamRequest(
            "/inferd.v1.InferenceService/PredictStream",
            (value: PredictStreamRequest) =>
              Buffer.from(toBinary(PredictStreamRequestSchema, value)),
            (bytes: Buffer) => fromBinary(PredictStreamResponseSchema, bytes),
            metadata,
          );
          call.on("data", () => answers++);
          call.on("error", reject);
          call.on("end", resolve);
          const request = { model: "iris", inputs: irisInputs(IRIS_SAMPLES.slice(0, 1)) };
          call.write(create(PredictStreamRequestSchema, { request }));
          call.write(create(PredictStreamRequestSchema, { request }));
          call.end();
        }),
      stream,
    );
    expect(answers).toBe(2);
    expect(line).toMatchObject({ procedure: "/inferd.v1.InferenceService/PredictStream" });
    expect(line.refused).toBeUndefined();
    expect(handled("OK")).toBe(1);
    expect(started).toBe(1);
  });

  it("count a malformed connect-timeout-ms on a Connect stream once: connect-es fails it inside the interceptors", async () => {
    const id = "refused-connect-stream-timeout";
    const generate = {
      grpc_service: "inferd.v1.GenerationService",
      grpc_method: "Generate",
      grpc_type: "server_stream",
    };
    let status = 0;
    const { line, handled } = await countersAcross(
      "connect",
      id,
      async () => {
        const body = envelope(Buffer.from(JSON.stringify({ model: "iris", prompt: "hi" })));
        const res = await post(
          "application/connect+json",
          body,
          { "x-request-id": id, "connect-timeout-ms": "soon" },
          "/inferd.v1.GenerationService/Generate",
        );
        status = res.status;
      },
      generate,
    );
    expect(status).toBe(200);
    expect(line).toMatchObject({
      procedure: "/inferd.v1.GenerationService/Generate",
      code: "invalid_argument",
    });
    expect(line.refused).toBeUndefined();
    expect(handled("InvalidArgument")).toBe(1);
  });
});
