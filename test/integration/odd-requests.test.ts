import { randomBytes } from "node:crypto";
import http2 from "node:http2";
import net from "node:net";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { captureLogs } from "../helpers/captured-logs.js";
import { grpcClient, grpcPredict } from "../helpers/inferd-grpc.js";
import { IRIS_SAMPLES, irisInputs } from "../helpers/iris-reference.js";
import { scrapeMetrics } from "../helpers/scrape-metrics.js";
import { useInferd } from "../helpers/use-inferd.js";

/** Requests at the edge of what the protocols allow, on a server with the default limits. */
const PREDICT = "/inferd.v1.InferenceService/Predict";
const HANDLED = "inferd_grpc_server_handled_total";
const logs = captureLogs();
const inferd = useInferd({ models: ["iris"], logger: logs.logger });

/** Sends raw bytes on a fresh connection; resolves with everything the server wrote back. */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(inferd.port, "127.0.0.1", () => socket.write(bytes));
    let text = "";
    socket.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
    socket.on("close", () => resolve(text));
    socket.on("error", reject);
  });
}

describe("an RPC whose Host cannot make a URL", () => {
  it.each([
    ["an HTTP/1.0 request without Host", "HTTP/1.0\r\n"],
    ["a Host that does not parse", "HTTP/1.1\r\nhost: [\r\nconnection: close\r\n"],
  ])("answers %s 400 and keeps serving", async (_case, head) => {
    const reply = await raw(
      `POST ${PREDICT} ${head}content-type: application/json\r\ncontent-length: 2\r\n\r\n{}`,
    );
    expect(reply).toMatch(/^HTTP\/1\.[01] 400 /);
    expect(reply).toContain("give a valid Host or :authority header");
    // The process is still here: a call on another connection is served.
    const client = grpcClient(inferd.port);
    try {
      const response = await grpcPredict(client, {
        model: "iris",
        inputs: irisInputs(IRIS_SAMPLES.slice(0, 1)),
      });
      expect(response.model).toBe("iris");
    } finally {
      client.close();
    }
  });
});

describe("a refused call whose error body is long", () => {
  it.each([["identity"], ["gzip"]])(
    "is logged with the code the client read (%s), not the bare HTTP status",
    async (encoding) => {
      // connect-es names an unknown field in its message: 60,000 hex digits, which stay
      // over the 16 KiB the observer keeps even gzipped.
      const id = `long-error-${encoding}`;
      const res = await fetch(`${inferd.baseUrl}${PREDICT}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "accept-encoding": encoding,
          "x-request-id": id,
        },
        body: JSON.stringify({ model: "iris", [randomBytes(30_000).toString("hex")]: 1 }),
      });
      expect(res.status).toBe(400);
      expect(res.headers.get("content-encoding") ?? "identity").toBe(encoding);
      expect(((await res.json()) as { code: string }).code).toBe("invalid_argument");
      await expect.poll(() => logs.rpcLines(id).length).toBe(1);
      expect(logs.rpcLines(id)[0]).toMatchObject({ code: "invalid_argument", refused: true });
    },
  );
});

/**
 * Calls whose client resets the HTTP/2 stream before any answer: exactly one access-log
 * line and one count each, canceled, whichever of the transport and the interceptors
 * saw the call first (connect-es decompresses a body asynchronously, so the reset can
 * come in between).
 */

/**
 * Opens a Predict stream and writes `body`. Ended: resets the stream with CANCEL right
 * after. Not ended: drops the whole connection mid-body (Node's stream.close() would
 * end the upload first, and the server rightly answers a truncated body).
 */
async function resetAfter(headers: http2.OutgoingHttpHeaders, body: Buffer, end: boolean) {
  const session = http2.connect(inferd.baseUrl);
  session.on("error", () => {});
  const stream = session.request({ ":method": "POST", ":path": PREDICT, ...headers });
  stream.on("error", () => {});
  const closed = new Promise((resolve) => stream.once("close", resolve));
  if (end) {
    stream.end(body);
    await new Promise((resolve) => setTimeout(resolve, 2));
    stream.close(http2.constants.NGHTTP2_CANCEL);
  } else {
    stream.write(body);
    await new Promise((resolve) => setTimeout(resolve, 50));
    session.destroy();
  }
  await closed;
  session.destroy();
}

const linesOf = logs.rpcLines;

async function expectOneCanceled(protocol: string, id: string, send: () => Promise<void>) {
  const labels = { grpc_method: "Predict", protocol };
  const before = (await scrapeMetrics(inferd.baseUrl)).total(HANDLED, labels);
  await send();
  await expect.poll(() => linesOf(id).length, { timeout: 5000 }).toBeGreaterThan(0);
  await new Promise((resolve) => setTimeout(resolve, 500)); // room for a second record
  expect(linesOf(id)).toHaveLength(1);
  expect(linesOf(id)[0]).toMatchObject({ code: "canceled" });
  const after = await scrapeMetrics(inferd.baseUrl);
  expect(after.total(HANDLED, labels) - before).toBe(1);
  expect(after.total(HANDLED, { ...labels, grpc_code: "Canceled" })).toBeGreaterThan(0);
}

describe("a client that resets its HTTP/2 stream before the answer", () => {
  it("is one canceled call when it leaves while a gzipped body decompresses (Connect)", async () => {
    const id = "reset-during-gunzip";
    // ~8 MB of padding: decompressing it takes connect-es a while after the last byte.
    const json = JSON.stringify({
      model: "iris",
      inputs: irisInputs(IRIS_SAMPLES.slice(0, 1)),
      requestId: id,
    }).replace("{", `{${" ".repeat(8_000_000)}`);
    const headers = {
      "content-type": "application/json",
      "content-encoding": "gzip",
      "x-request-id": id,
    };
    await expectOneCanceled("connect", id, () => resetAfter(headers, gzipSync(json), true));
  });

  it("is one canceled call when it leaves mid-body on the lean gRPC path", async () => {
    const id = "reset-mid-body";
    const envelope = Buffer.alloc(5 + 10);
    envelope.writeUInt32BE(1000, 1); // declares 1,000 bytes, sends 10
    const headers = { "content-type": "application/grpc", te: "trailers", "x-request-id": id };
    await expectOneCanceled("grpc", id, () => resetAfter(headers, envelope, false));
  });
});
