import http2 from "node:http2";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createOnePortListener, type OnePortListener } from "../../src/server/one-port-listener.js";

let listener: OnePortListener | undefined;
afterEach(async () => {
  await listener?.close(100);
  listener = undefined;
});

/** Opens a raw TCP connection, writes `bytes`, resolves with how long until the server closed it. */
function closedAfter(port: number, bytes: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, "127.0.0.1", () => socket.write(bytes));
    socket.on("error", reject);
    socket.on("close", () => resolve(Date.now() - started));
    socket.resume();
  });
}

describe("createOnePortListener", () => {
  it("closes a connection that stays silent, or stops mid-preface, past the first-bytes timeout", async () => {
    listener = createOnePortListener({
      handler: (_req, res) => res.end("ok"),
      firstBytesTimeoutMs: 300,
    });
    const port = await listener.listen(0, "127.0.0.1");
    const [silent, halfPreface] = await Promise.all([
      closedAfter(port, ""),
      closedAfter(port, "PRI * HTTP/2.0\r\n"),
    ]);
    for (const ms of [silent, halfPreface]) {
      expect(ms).toBeGreaterThanOrEqual(250);
      expect(ms).toBeLessThan(3000);
    }
    // A client that speaks at once is served as before, and not cut at the timeout.
    const res = await fetch(`http://127.0.0.1:${port}/`);
    await new Promise((r) => setTimeout(r, 400));
    expect(await res.text()).toBe("ok");
  });

  it("closes an HTTP/2 connection whose peer leaves a keepalive PING unanswered, keeps one that answers", async () => {
    listener = createOnePortListener({
      handler: (_req, res) => res.end("ok"),
      keepalive: { timeMs: 200, timeoutMs: 200 },
    });
    const port = await listener.listen(0, "127.0.0.1");
    // A raw peer: the client preface and an empty SETTINGS frame, then nothing (it acks no PING).
    const settings = "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    const mute = closedAfter(port, `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n${settings}`);
    const client = http2.connect(`http://127.0.0.1:${port}`);
    let clientClosed = false;
    client.on("close", () => (clientClosed = true));
    const ms = await mute;
    expect(ms).toBeGreaterThanOrEqual(350);
    expect(ms).toBeLessThan(3000);
    // The well-behaved client (Node acks PINGs) was pinged too, and is still served.
    await new Promise((r) => setTimeout(r, 300));
    expect(clientClosed).toBe(false);
    const body = await new Promise<string>((resolve, reject) => {
      const req = client.request({ ":path": "/" });
      let text = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => (text += chunk));
      req.on("end", () => resolve(text));
      req.on("error", reject);
    });
    expect(body).toBe("ok");
    client.close();
  });
});
