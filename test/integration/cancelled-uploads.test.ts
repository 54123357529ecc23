import http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureLogs } from "../helpers/captured-logs.js";
import { IRIS_SAMPLES, irisInputs } from "../helpers/iris-reference.js";
import { scrapeMetrics } from "../helpers/scrape-metrics.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

/**
 * Calls whose client resets the HTTP/2 stream before any answer: exactly one access-log
 * line and one count each, canceled, whichever of the transport and the interceptors
 * saw the call first (connect-es decompresses a body asynchronously, so the reset can
 * come in between).
 */
const PREDICT = "/inferd.v1.InferenceService/Predict";
const HANDLED = "inferd_grpc_server_handled_total";
const logs = captureLogs();
let inferd: RunningInferd;

beforeAll(async () => {
  inferd = await startInferd({ models: ["iris"], logger: logs.logger });
});
afterAll(async () => {
  await inferd?.close();
});

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
  expect(after.total(HANDLED, { ...labels, grpc_code: "canceled" })).toBeGreaterThan(0);
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
