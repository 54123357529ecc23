import http2 from "node:http2";
import https from "node:https";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type PredictRequest,
  PredictRequestSchema,
  type PredictResponse,
  PredictResponseSchema,
} from "../../gen/inferd/v1/inference_pb.js";
import type { ParserRefusal } from "../../src/listener/answer-client-errors.js";
import { createOnePortListener } from "../../src/listener/one-port-listener.js";
import { httpsPostText } from "../helpers/https-post-text.js";
import {
  createSelfSignedCert,
  opensslMissing,
  type SelfSignedCert,
} from "../helpers/self-signed-cert.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { tlsUntilClosed } from "../helpers/tls-until-closed.js";

const noOpenssl = opensslMissing("TLS tests");

describe.skipIf(noOpenssl)("TLS on the one port", () => {
  let made: SelfSignedCert | undefined;
  let ca: Buffer;
  let key: Buffer;
  let t: TestServer;
  beforeAll(async () => {
    made = createSelfSignedCert();
    ({ cert: ca, key } = made);
    t = await startTestServer({ tlsCert: made.certPath, tlsKey: made.keyPath });
  });
  afterAll(async () => {
    await t?.server.shutdown();
    made?.remove();
  });

  it("negotiates h2 by ALPN", async () => {
    const session = http2.connect(`https://127.0.0.1:${t.port}`, { ca });
    try {
      const req = session.request({ ":path": "/healthz" });
      const status = await new Promise<number>((resolve) =>
        req.on("response", (h) => resolve(Number(h[":status"]))),
      );
      let body = "";
      for await (const chunk of req) body += chunk;
      expect(session.alpnProtocol).toBe("h2");
      expect(status).toBe(200);
      expect(JSON.parse(body)).toEqual({ status: "live" });
    } finally {
      session.close();
    }
  });

  it("serves HTTP/1.1 clients on the same port", async () => {
    const agent = new https.Agent({ ca, keepAlive: false });
    const { status, version, body } = await new Promise<{
      status: number;
      version: string;
      body: string;
    }>((resolve, reject) => {
      const req = https.request(
        `https://127.0.0.1:${t.port}/inferd.v1.InferenceService/Predict`,
        { method: "POST", agent, headers: { "content-type": "application/json" } },
        (res) => {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, version: res.httpVersion, body: text }),
          );
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify({ model: "iris", requestId: "tls-1" }));
    });
    agent.destroy();
    expect(version).toBe("1.1");
    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual({ model: "iris", version: 7, requestId: "tls-1" });
  });

  it("answers 408 and closes an HTTP/1.1-over-TLS request whose body stops arriving (Node's requestTimeout does not reach it)", async () => {
    const refusals: ParserRefusal[] = [];
    const listener = createOnePortListener({
      handler: (req, res) => {
        req.resume();
        req.on("end", () => res.end("whole"));
      },
      tls: { cert: ca, key },
      bodyTimeout: { ms: 200 },
      onParserRefusal: (refusal) => refusals.push(refusal),
    });
    const port = await listener.listen(0, "127.0.0.1");
    try {
      const { text: answer } = await tlsUntilClosed(port, ca, (socket) =>
        socket.write("POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: 10\r\n\r\nabc"),
      );
      expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(refusals.map((r) => r.status)).toEqual([408]);
      const agent = new https.Agent({ ca, keepAlive: false });
      const whole = await httpsPostText(`https://127.0.0.1:${port}/x`, agent, "abcdef");
      agent.destroy();
      expect(whole).toBe("whole");
    } finally {
      await listener.close(100);
    }
  });

  it("serves unary gRPC over TLS to grpc-js (the lean unary path behind ALPN h2)", async () => {
    const client = new grpc.Client(`127.0.0.1:${t.port}`, grpc.credentials.createSsl(ca));
    try {
      const response = await new Promise<PredictResponse>((resolve, reject) =>
        client.makeUnaryRequest(
          "/inferd.v1.InferenceService/Predict",
          (value: PredictRequest) => Buffer.from(toBinary(PredictRequestSchema, value)),
          (bytes: Buffer) => fromBinary(PredictResponseSchema, bytes),
          create(PredictRequestSchema, { model: "iris", requestId: "tls-grpc" }),
          (error, value) => (error || !value ? reject(error) : resolve(value)),
        ),
      );
      expect([response.model, response.version, response.requestId]).toEqual([
        "iris",
        7,
        "tls-grpc",
      ]);
    } finally {
      client.close();
    }
  });
});
