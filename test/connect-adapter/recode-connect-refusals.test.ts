import * as http2 from "node:http2";
import { gzipSync } from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureLogs, type LogLine } from "../helpers/captured-logs.js";
import { grpcFailure, grpcPredict } from "../helpers/inferd-grpc.js";
import { rawHttp1 } from "../helpers/raw-exchange.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

/**
 * What connect-node itself refuses before any interceptor, on the paths the lean ones
 * leave to it (compressed bodies, query strings, gRPC streams): an undecodable body is
 * InvalidArgument, a body over the limit names --max-request-bytes, a gRPC message with
 * a reserved flag bit is refused; each logged once at warn with the code the client read.
 */
const LIMIT = 1024;
const logs = captureLogs();
let inferd: RunningInferd;
beforeAll(async () => {
  inferd = await startInferd({
    models: ["iris"],
    config: { maxRequestBytes: LIMIT },
    logger: logs.logger,
  });
});
afterAll(async () => inferd?.close());

const PREDICT = "/inferd.v1.InferenceService/Predict";
const STREAM = "/inferd.v1.InferenceService/PredictStream";
/** Field 1 (model name), length 5, one byte given. */
const PREMATURE = Buffer.from([0x0a, 0x05, 0x69]);
/** Field 1 (model name) holding 0xff 0xfe: not UTF-8. */
const NOT_UTF8 = Buffer.from([0x0a, 0x02, 0xff, 0xfe]);
const OVERSIZE = Buffer.from(JSON.stringify({ model: "x".repeat(2000) }));
const LIMIT_AFTER_DECOMPRESSION = `the message is larger than the server's limit of ${LIMIT} bytes (--max-request-bytes) after decompression`;
const envelope = (flags: number, data: Buffer) =>
  Buffer.concat([Buffer.from([flags, 0, 0, 0, 0]), data]).fill(data.byteLength, 4, 5);

function http1(path: string, type: string, id: string, body: Buffer, extra = ""): Promise<string> {
  const head =
    `POST ${path} HTTP/1.1\r\nHost: a\r\nContent-Type: ${type}\r\nX-Request-Id: ${id}\r\n` +
    `Content-Length: ${body.byteLength}\r\nConnection: close\r\n${extra}\r\n`;
  return rawHttp1(inferd.port, head, body);
}

/** One gRPC request over HTTP/2; the status and message, from the trailers or a trailers-only head. */
function grpcCall(path: string, id: string, body: Buffer, extra: http2.OutgoingHttpHeaders = {}) {
  return new Promise<{ status: unknown; message: unknown }>((resolve, reject) => {
    const session = http2.connect(inferd.baseUrl);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      "x-request-id": id,
      ...extra,
    });
    let fields: http2.IncomingHttpHeaders = {};
    stream.on("response", (head) => (fields = head));
    stream.on("trailers", (trailers) => (fields = trailers));
    stream.on("error", reject);
    stream.resume();
    stream.on("close", () => {
      session.close();
      const message = fields["grpc-message"];
      resolve({ status: fields["grpc-status"], message: decodeURIComponent(String(message)) });
    });
    stream.end(body);
  });
}

/** The one access-log line of `id`: at warn, with this code (and refused, when given). */
async function expectLogged(id: string, code: string, refused = true): Promise<LogLine> {
  await expect.poll(() => logs.rpcLines(id).length, { timeout: 5000 }).toBe(1);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const [line] = logs.rpcLines(id);
  expect(logs.rpcLines(id)).toHaveLength(1);
  expect(line).toMatchObject({ level: 40, code, ...(refused && { refused: true }) });
  return line as LogLine;
}

const GZIP = "content-encoding: gzip\r\n";

describe("connect-node's Connect unary path", () => {
  it("answers a gzipped undecodable body 400 invalid_argument", async () => {
    const raw = await http1(PREDICT, "application/proto", "rc-gzip", gzipSync(PREMATURE), GZIP);
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain('{"code":"invalid_argument","message":"parse binary: premature EOF"}');
    expect((await expectLogged("rc-gzip", "invalid_argument")).error).toBe(
      "parse binary: premature EOF",
    );
  });

  it("answers invalid UTF-8 in a string field (query string) 400 invalid_argument", async () => {
    const raw = await http1(`${PREDICT}?x=1`, "application/proto", "rc-utf8", NOT_UTF8);
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toMatch(/\{"code":"invalid_argument","message":"parse binary: [^"]+"\}$/);
    await expectLogged("rc-utf8", "invalid_argument");
  });

  it("answers a truncated gzip body 400 invalid_argument", async () => {
    const cut = gzipSync(OVERSIZE).subarray(0, 12);
    const raw = await http1(PREDICT, "application/json", "rc-cut", cut, GZIP);
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain('{"code":"invalid_argument","message":"decompression failed"}');
    await expectLogged("rc-cut", "invalid_argument");
  });

  it("names --max-request-bytes for a body over the limit (query string, and once decompressed)", async () => {
    const plain = await http1(`${PREDICT}?x=1`, "application/json", "rc-big", OVERSIZE);
    expect(plain).toMatch(/^HTTP\/1\.1 429 /);
    expect(plain).toContain(
      `{"code":"resource_exhausted","message":"message size ${OVERSIZE.byteLength} is larger than the server's limit of ${LIMIT} bytes (--max-request-bytes)"}`,
    );
    await expectLogged("rc-big", "resource_exhausted");
    const zipped = await http1(
      PREDICT,
      "application/json",
      "rc-big-gzip",
      gzipSync(OVERSIZE),
      GZIP,
    );
    expect(zipped).toMatch(/^HTTP\/1\.1 429 /);
    expect(zipped).toContain(`"message":"${LIMIT_AFTER_DECOMPRESSION}"`);
    await expectLogged("rc-big-gzip", "resource_exhausted");
  });
});

describe("connect-node's gRPC-Web unary path (compressed requests)", () => {
  const TYPE = "application/grpc-web+proto";
  const ENCODING = "grpc-encoding: gzip\r\n";

  it("answers an undecodable message grpc-status 3", async () => {
    const body = envelope(1, gzipSync(PREMATURE));
    const raw = await http1(PREDICT, TYPE, "rc-web-gzip", body, ENCODING);
    expect(raw).toContain(
      "grpc-message: parse%20binary%3A%20premature%20EOF\r\ngrpc-status: 3\r\n",
    );
    await expectLogged("rc-web-gzip", "invalid_argument");
  });

  it("names --max-request-bytes for a message over the limit once decompressed", async () => {
    const body = envelope(1, gzipSync(OVERSIZE));
    const raw = await http1(PREDICT, TYPE, "rc-web-big", body, ENCODING);
    expect(raw).toContain(
      `grpc-message: ${encodeURIComponent(LIMIT_AFTER_DECOMPRESSION)}\r\ngrpc-status: 8\r\n`,
    );
    await expectLogged("rc-web-big", "resource_exhausted");
  });
});

describe("connect-node's gRPC path (compressed unary, streams)", () => {
  const GZIPPED = { "grpc-encoding": "gzip" };

  it("answers an undecodable compressed message grpc-status 3", async () => {
    const answer = await grpcCall(
      PREDICT,
      "rc-grpc-gzip",
      envelope(1, gzipSync(PREMATURE)),
      GZIPPED,
    );
    expect(answer).toEqual({ status: "3", message: "parse binary: premature EOF" });
    await expectLogged("rc-grpc-gzip", "invalid_argument");
  });

  it("refuses reserved flag bits on a compressed unary call and on a stream", async () => {
    const unary = await grpcCall(
      PREDICT,
      "rc-grpc-flag",
      envelope(0x81, gzipSync(PREMATURE)),
      GZIPPED,
    );
    expect(unary).toEqual({
      status: "3",
      message: "protocol error: received unexpected payload format 129",
    });
    await expectLogged("rc-grpc-flag", "invalid_argument");
    const stream = await grpcCall(STREAM, "rc-grpc-stream-flag", envelope(0x80, PREMATURE));
    expect(stream).toEqual({
      status: "3",
      message: "protocol error: received unexpected payload format 128",
    });
    // A stream's request is read inside the call: the interceptors saw it.
    await expectLogged("rc-grpc-stream-flag", "invalid_argument", false);
  });

  it("names --max-request-bytes to a grpc-js client sending gzip", async () => {
    const client = new grpc.Client(`127.0.0.1:${inferd.port}`, grpc.credentials.createInsecure(), {
      "grpc.default_compression_algorithm": 2,
    });
    try {
      const metadata = new grpc.Metadata();
      metadata.set("x-request-id", "rc-grpc-js");
      const call = grpcPredict(client, { model: "x".repeat(2000) }, {}, metadata);
      const error = await grpcFailure(call);
      expect({ code: error.code, details: error.details }).toEqual({
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: LIMIT_AFTER_DECOMPRESSION,
      });
    } finally {
      client.close();
    }
    await expectLogged("rc-grpc-js", "resource_exhausted");
  });
});
