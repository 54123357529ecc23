import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureLogs, type LogLine } from "../helpers/captured-logs.js";
import { rawHttp1, viaHttp2 } from "../helpers/raw-exchange.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

/**
 * Undecodable protobuf is the client's fault on every path: InvalidArgument, logged at
 * warn. connect-es answers it Internal (and the access log said error) on streams and
 * on the lean Connect and gRPC-Web paths; the lean gRPC path refuses reserved flag bits.
 */
const logs = captureLogs();
let inferd: RunningInferd;
beforeAll(async () => {
  inferd = await startInferd({ models: ["iris"], logger: logs.logger });
});
afterAll(async () => inferd?.close());

const PREDICT = "/inferd.v1.InferenceService/Predict";
const STREAM = "/inferd.v1.InferenceService/PredictStream";
/** Field 1 (model name), length 5, one byte given: "premature EOF". */
const GARBAGE = Buffer.from([0x0a, 0x05, 0x69]);
const envelope = (flags: number, body: Buffer) =>
  Buffer.concat([Buffer.from([flags, 0, 0, 0, body.byteLength]), body]);

function http1(path: string, type: string, id: string, body: Buffer): Promise<string> {
  const head =
    `POST ${path} HTTP/1.1\r\nHost: a\r\nContent-Type: ${type}\r\nX-Request-Id: ${id}\r\n` +
    `Content-Length: ${body.byteLength}\r\nConnection: close\r\n\r\n`;
  return rawHttp1(inferd.port, head, body);
}

function h2(path: string, type: string, id: string, body: Buffer) {
  const headers = { ":method": "POST", ":path": path, "content-type": type, te: "trailers" };
  return viaHttp2(inferd.port, { ...headers, "x-request-id": id }, body);
}

async function lineOf(id: string): Promise<LogLine> {
  await expect.poll(() => logs.rpcLines(id).length, { timeout: 5000 }).toBe(1);
  return logs.rpcLines(id)[0] as LogLine;
}

/** The access line says invalid_argument at warn (pino's 40), never internal at error. */
async function expectClientFault(id: string): Promise<void> {
  const line = await lineOf(id);
  expect({ code: line.code, level: line.level }).toEqual({ code: "invalid_argument", level: 40 });
}

describe("undecodable request messages", () => {
  it("Connect unary binary (lean path): 400 invalid_argument", async () => {
    const raw = await http1(PREDICT, "application/proto", "pe-connect-unary", GARBAGE);
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain('{"code":"invalid_argument","message":"parse binary: premature EOF"}');
    await expectClientFault("pe-connect-unary");
  });

  it("gRPC-Web unary (lean path): grpc-status 3, for garbage and a compressed flag", async () => {
    const type = "application/grpc-web+proto";
    const garbage = await http1(PREDICT, type, "pe-web-unary", envelope(0, GARBAGE));
    expect(garbage).toContain(
      "grpc-message: parse%20binary%3A%20premature%20EOF\r\ngrpc-status: 3\r\n",
    );
    await expectClientFault("pe-web-unary");
    const compressed = await http1(PREDICT, type, "pe-web-flag", envelope(1, GARBAGE));
    expect(compressed).toContain("grpc-status: 3\r\n");
    await expectClientFault("pe-web-flag");
  });

  it("Connect streaming (PredictStream): the end frame says invalid_argument", async () => {
    const { body } = await h2(
      STREAM,
      "application/connect+proto",
      "pe-connect-stream",
      envelope(0, GARBAGE),
    );
    const end = Buffer.from(body, "hex").subarray(5).toString();
    expect(JSON.parse(end)).toEqual({
      error: { code: "invalid_argument", message: "parse binary: premature EOF" },
    });
    await expectClientFault("pe-connect-stream");
  });

  it("gRPC streaming (PredictStream): garbage and a compressed flag without grpc-encoding", async () => {
    await h2(STREAM, "application/grpc", "pe-grpc-stream", envelope(0, GARBAGE));
    await expectClientFault("pe-grpc-stream");
    await h2(STREAM, "application/grpc", "pe-grpc-stream-flag", envelope(1, GARBAGE));
    await expectClientFault("pe-grpc-stream-flag");
  });

  it("gRPC-Web streaming (PredictStream): invalid_argument", async () => {
    await h2(STREAM, "application/grpc-web+proto", "pe-web-stream", envelope(0, GARBAGE));
    await expectClientFault("pe-web-stream");
  });

  it("gRPC unary (lean path): a reserved flag bit is refused, as grpc-go refuses it", async () => {
    for (const flags of [0x80, 0x81, 0x02]) {
      const id = `pe-grpc-flags-${flags}`;
      const { head } = await h2(PREDICT, "application/grpc", id, envelope(flags, Buffer.alloc(0)));
      expect(head["grpc-status"]).toBe("3");
      expect(head["grpc-message"]).toBe(
        `protocol error: received unexpected payload format ${flags}`,
      );
      await expectClientFault(id);
    }
  });
});
