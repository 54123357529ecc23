import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PredictRequestSchema } from "../../gen/inferd/v1/inference_pb.js";
import { DataType } from "../../gen/inferd/v1/tensor_pb.js";
import { captureLogs, type LogLine } from "../helpers/captured-logs.js";
import { rawHttp1, viaHttp2 } from "../helpers/raw-exchange.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

/**
 * Request framing connect-es lets through is refused alike on every path, InvalidArgument
 * and logged once at warn: reserved flag bits on gRPC-Web (the trailer flag included)
 * and Connect streaming messages, more than one message on a unary gRPC-Web call, and a
 * Connect `connect-protocol-version` other than 1 (as connect-go refuses it). The lean
 * paths take plain unary requests; a `grpc-encoding`/`content-encoding` header sends the
 * same bytes down connect-node's path.
 */
const logs = captureLogs();
let inferd: RunningInferd;
beforeAll(async () => {
  inferd = await startInferd({ models: ["iris"], logger: logs.logger });
});
afterAll(async () => inferd?.close());

const PREDICT = "/inferd.v1.InferenceService/Predict";
const STREAM = "/inferd.v1.InferenceService/PredictStream";
const WEB = "application/grpc-web+proto";
const CONNECT_STREAM = "application/connect+proto";
/** Field 1 (model name) "iris": a valid PredictRequest, and a PredictStreamRequest's bytes too. */
const IRIS = Buffer.from([0x0a, 0x04, 0x69, 0x72, 0x69, 0x73]);
const ROW = { dtype: DataType.FLOAT32, shape: [1, 4], floatData: [5.1, 3.5, 1.4, 0.2] };
/** A valid one-row Iris Predict, in binary and in Connect JSON. */
const ROW_PB = Buffer.from(
  toBinary(
    PredictRequestSchema,
    create(PredictRequestSchema, { model: "iris", inputs: { features: ROW } }),
  ),
);
const ONE_ROW = Buffer.from(
  JSON.stringify({ model: "iris", inputs: { features: { ...ROW, dtype: "DATA_TYPE_FLOAT32" } } }),
);
const envelope = (flags: number, body: Buffer) =>
  Buffer.concat([Buffer.from([flags, 0, 0, 0, body.byteLength]), body]);
/** The lean path, and connect-node's (a negotiated encoding; the messages stay plain). */
const PATHS = [
  ["the lean path", ""],
  ["connect-node's path", "grpc-encoding: gzip\r\n"],
] as const;

function http1(path: string, type: string, id: string, body: Buffer, extra = ""): Promise<string> {
  const head =
    `POST ${path} HTTP/1.1\r\nHost: a\r\nContent-Type: ${type}\r\nX-Request-Id: ${id}\r\n` +
    `Content-Length: ${body.byteLength}\r\nConnection: close\r\n${extra}\r\n`;
  return rawHttp1(inferd.port, head, body);
}

function h2(path: string, type: string, id: string, body: Buffer, extra = {}) {
  const headers = { ":method": "POST", ":path": path, "content-type": type, te: "trailers" };
  return viaHttp2(inferd.port, { ...headers, "x-request-id": id, ...extra }, body);
}

/** The JSON of a Connect stream's last frame (its end-stream message), from a hex body. */
function endFrame(hex: string): unknown {
  const bytes = Buffer.from(hex, "hex");
  let at = 0;
  while (at + 5 + bytes.readUInt32BE(at + 1) < bytes.byteLength)
    at += 5 + bytes.readUInt32BE(at + 1);
  expect(bytes[at]).toBe(0x02);
  return JSON.parse(bytes.subarray(at + 5).toString());
}

/** The gRPC-Web trailer's status and message, as the client reads them. */
function webStatus(raw: string): { status: string; message: string } {
  const status = /grpc-status: ?(\d+)\r\n/.exec(raw)?.[1] ?? "";
  const message = decodeURIComponent(/grpc-message: ?([^\r]*)\r\n/.exec(raw)?.[1] ?? "");
  return { status, message };
}

/** The one access-log line of `id`, at warn with invalid_argument. */
async function expectWarned(id: string): Promise<LogLine> {
  await expect.poll(() => logs.rpcLines(id).length, { timeout: 5000 }).toBe(1);
  const [line] = logs.rpcLines(id) as [LogLine];
  expect({ code: line.code, level: line.level }).toEqual({ code: "invalid_argument", level: 40 });
  return line;
}

const payloadFormat = (flags: number) =>
  `protocol error: received unexpected payload format ${flags}`;

describe.each(PATHS)("gRPC-Web unary framing on %s", (label, extra) => {
  const tag = label.startsWith("the lean") ? "lean" : "node";

  it.each([0x80, 0x02, 0x81])("refuses flags %i with grpc-status 3", async (flags) => {
    const id = `guard-web-${tag}-${flags}`;
    const raw = await http1(PREDICT, WEB, id, envelope(flags, IRIS), extra);
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    expect(webStatus(raw)).toEqual({ status: "3", message: payloadFormat(flags) });
    await expectWarned(id);
  });

  it("refuses two messages, and none, with grpc-status 3", async () => {
    const two = await http1(
      PREDICT,
      WEB,
      `guard-web-${tag}-two`,
      Buffer.concat([envelope(0, IRIS), envelope(0, IRIS)]),
      extra,
    );
    expect(webStatus(two)).toEqual({
      status: "3",
      message: "protocol error: received extra input message for unary method",
    });
    await expectWarned(`guard-web-${tag}-two`);
    const none = await http1(PREDICT, WEB, `guard-web-${tag}-none`, Buffer.alloc(0), extra);
    expect(webStatus(none)).toEqual({
      status: "3",
      message: "protocol error: missing input message for unary method",
    });
    await expectWarned(`guard-web-${tag}-none`);
  });

  it("still serves one plain message", async () => {
    const raw = await http1(PREDICT, WEB, `guard-web-${tag}-ok`, envelope(0, ROW_PB), extra);
    expect(webStatus(raw)).toEqual({ status: "0", message: "" });
  });
});

describe("streams (connect-node's path, HTTP/2)", () => {
  it("refuses the trailer flag on a gRPC-Web stream's request", async () => {
    const { body } = await h2(STREAM, WEB, "guard-web-stream", envelope(0x80, IRIS));
    expect(webStatus(Buffer.from(body, "hex").toString("latin1"))).toEqual({
      status: "3",
      message: payloadFormat(128),
    });
    await expectWarned("guard-web-stream");
  });

  it("refuses a reserved flag on a Connect stream's request in the end frame", async () => {
    const answer = await h2(STREAM, CONNECT_STREAM, "guard-connect-stream", envelope(0x80, IRIS));
    expect(answer.head[":status"]).toBe(200);
    expect(endFrame(answer.body)).toEqual({
      error: { code: "invalid_argument", message: payloadFormat(128) },
    });
    await expectWarned("guard-connect-stream");
  });

  it("lets a Connect stream's end-stream flag (0x02) through, as connect-es skips it", async () => {
    const body = envelope(0x02, Buffer.from("{}"));
    const { body: answer } = await h2(STREAM, CONNECT_STREAM, "guard-connect-end", body);
    expect(endFrame(answer)).toEqual({});
  });
});

describe("connect-protocol-version", () => {
  const refusal =
    '{"code":"invalid_argument","message":"Connect-Protocol-Version must be \\"1\\": got \\"2\\""}';

  it.each([
    ["the lean path", IRIS, ""],
    ["connect-node's path", gzipSync(IRIS), "content-encoding: gzip\r\n"],
  ])("refuses version 2 on a unary call, %s: 400", async (label, body, extra) => {
    const id = `guard-version-${label.startsWith("the lean") ? "lean" : "node"}`;
    const raw = await http1(
      PREDICT,
      "application/proto",
      id,
      body,
      `connect-protocol-version: 2\r\n${extra}`,
    );
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain(refusal);
    await expectWarned(id);
  });

  it("refuses version 2 on a stream in the end frame", async () => {
    const { body } = await h2(STREAM, CONNECT_STREAM, "guard-version-stream", envelope(0, IRIS), {
      "connect-protocol-version": "2",
    });
    expect(endFrame(body)).toEqual({ error: JSON.parse(refusal) });
    await expectWarned("guard-version-stream");
  });

  it.each(["1", "", undefined])("serves version %j", async (version) => {
    const header = version === undefined ? "" : `connect-protocol-version: ${version}\r\n`;
    const raw = await http1(PREDICT, "application/json", "guard-version-ok", ONE_ROW, header);
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
  });
});
