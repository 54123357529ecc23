import https from "node:https";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ParserRefusal } from "../../src/listener/answer-client-errors.js";
import {
  createOnePortListener,
  type OnePortListener,
} from "../../src/listener/one-port-listener.js";
import { httpsPostText } from "../helpers/https-post-text.js";
import {
  createSelfSignedCert,
  opensslMissing,
  type SelfSignedCert,
} from "../helpers/self-signed-cert.js";
import { tlsUntilClosed } from "../helpers/tls-until-closed.js";

const noOpenssl = opensslMissing("TLS head tests");

describe.skipIf(noOpenssl)("request heads of HTTP/1.1 over TLS (a 300 ms body timeout)", () => {
  let made: SelfSignedCert;
  let listener: OnePortListener;
  let port: number;
  const refusals: ParserRefusal[] = [];
  beforeAll(async () => {
    made = createSelfSignedCert();
    listener = createOnePortListener({
      // Answers after 600 ms: longer than the head bound, which must not cut a served request.
      handler: (req, res) => {
        req.resume();
        req.on("end", () => setTimeout(() => res.end("whole"), 600));
      },
      tls: { cert: made.cert, key: made.key },
      bodyTimeout: { ms: 300 },
      firstBytesTimeoutMs: 300,
      onParserRefusal: (refusal) => refusals.push(refusal),
    });
    port = await listener.listen(0, "127.0.0.1");
  });
  afterAll(async () => {
    await listener?.close(100);
    made?.remove();
  });

  it("answers 408 and closes a connection dribbling its head (Node's headersTimeout does not reach it)", async () => {
    refusals.length = 0;
    let drip: NodeJS.Timeout | undefined;
    const { text, ms } = await tlsUntilClosed(port, made.cert, (socket) => {
      socket.write("POST /x HTTP/1.1\r\nhost: a\r\n");
      drip = setInterval(() => socket.writable && socket.write("x"), 50);
    });
    clearInterval(drip);
    expect(text).toBe("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n");
    expect(refusals.map((r) => r.status)).toEqual([408]);
    expect(ms).toBeLessThan(10_000);
  });

  it("closes, without a word, a connection that sends nothing after its handshake", async () => {
    refusals.length = 0;
    const { text } = await tlsUntilClosed(port, made.cert, () => undefined);
    expect(text).toBe("");
    expect(refusals).toEqual([]);
  });

  it("closes a connection that never starts its TLS handshake (Node's default waits 120 s)", async () => {
    const started = Date.now();
    const closed = await new Promise<number>((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.on("error", reject);
      socket.on("close", () => resolve(Date.now() - started));
    });
    expect(closed).toBeLessThan(10_000);
  });

  it("serves keep-alive requests slower than the bound, one after another on one socket", async () => {
    const agent = new https.Agent({ ca: made.cert, keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const get = () =>
      httpsPostText(`https://127.0.0.1:${port}/x`, agent, "abc", (s) => sockets.add(s));
    try {
      expect([await get(), await get()]).toEqual(["whole", "whole"]);
      expect(sockets.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });
});
