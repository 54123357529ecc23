import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureLogs, type LogLine } from "../helpers/captured-logs.js";
import { rawHttp1 } from "../helpers/raw-exchange.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

/**
 * Requests Node's HTTP/1 parser refuses never reach a handler: Node's answer is kept
 * byte for byte, and each gets one access-log line at warn with a precise code.
 */
const logs = captureLogs();
let inferd: RunningInferd;
beforeAll(async () => {
  inferd = await startInferd({ models: ["iris"], logger: logs.logger });
});
afterAll(async () => inferd?.close());

const PREDICT = "/inferd.v1.InferenceService/Predict";
const BAD_REQUEST = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";

/** The parser-refusal lines logged so far whose error starts with `code`. */
const refusals = (code: string): LogLine[] =>
  logs.parsed().filter((l) => l.msg === "http" && String(l.error).startsWith(`${code}:`));

async function onlyRefusal(code: string): Promise<LogLine> {
  await expect.poll(() => refusals(code).length, { timeout: 5000 }).toBe(1);
  return refusals(code)[0] as LogLine;
}

describe("requests Node's parser refuses", () => {
  it("Content-Length with Transfer-Encoding: Node's 400, logged invalid_argument at warn", async () => {
    const raw = await rawHttp1(
      inferd.port,
      `POST ${PREDICT} HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n` +
        "transfer-encoding: chunked\r\ncontent-length: 2\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
      new Uint8Array(),
    );
    expect(raw).toBe(BAD_REQUEST);
    const line = await onlyRefusal("HPE_INVALID_CONTENT_LENGTH");
    expect(line).toMatchObject({
      level: 40,
      status: 400,
      code: "invalid_argument",
      peer: "127.0.0.1",
      refused: true,
    });
    expect(line.error).toMatch(/Content-Length can't be present with Transfer-Encoding/);
  });

  it("an invalid chunk after the handler started: Node's 400, logged invalid_argument", async () => {
    const socket = net.connect(inferd.port, "127.0.0.1");
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    const closed = new Promise((resolve) => socket.on("close", resolve));
    socket.write(
      `POST ${PREDICT}?q=1 HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n` +
        "transfer-encoding: chunked\r\n\r\n2\r\n{}\r\n",
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.write("zz\r\n");
    await closed;
    expect(Buffer.concat(received).toString()).toBe(BAD_REQUEST);
    const line = await onlyRefusal("HPE_INVALID_CHUNK_SIZE");
    expect(line).toMatchObject({ level: 40, status: 400, code: "invalid_argument" });
  });

  it("headers over Node's limit: 431, logged resource_exhausted", async () => {
    const raw = await rawHttp1(
      inferd.port,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nx-big: ${"a".repeat(20_000)}\r\n\r\n`,
      new Uint8Array(),
    );
    expect(raw).toBe("HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n");
    const line = await onlyRefusal("HPE_HEADER_OVERFLOW");
    expect(line).toMatchObject({ level: 40, status: 431, code: "resource_exhausted" });
  });

  it("keeps serving: a valid request on a new connection is answered", async () => {
    const res = await fetch(`${inferd.baseUrl}/healthz`);
    expect(res.status).toBe(200);
  });
});
