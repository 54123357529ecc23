import http2 from "node:http2";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { NodeRequestHandler } from "../../src/http/http-route.js";
import {
  createOnePortListener,
  type OnePortListener,
} from "../../src/listener/one-port-listener.js";

let listener: OnePortListener | undefined;
afterEach(async () => {
  await listener?.close(100);
  listener = undefined;
});

/** Reads the whole body, then answers with its length. */
const echoLength: NodeRequestHandler = (req, res) => {
  let n = 0;
  req.on("data", (chunk: Buffer) => {
    n += chunk.length;
  });
  req.on("end", () => res.end(String(n)));
};

async function start(ms: number): Promise<number> {
  listener = createOnePortListener({
    handler: echoLength,
    bodyTimeout: { ms, openBody: (path) => path === "/stream" },
  });
  return listener.listen(0, "127.0.0.1");
}

describe("request-body timeout", () => {
  it("answers 408 and closes an HTTP/1.1 request whose body stops arriving; a whole body is served", async () => {
    const port = await start(200);
    const answer = await new Promise<string>((resolve, reject) => {
      let text = "";
      const socket = net.connect(port, "127.0.0.1", () =>
        socket.write("POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: 10\r\n\r\nabc"),
      );
      socket.on("data", (chunk) => {
        text += chunk.toString();
      });
      socket.on("error", reject);
      socket.on("close", () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    const res = await fetch(`http://127.0.0.1:${port}/x`, { method: "POST", body: "abcdef" });
    expect(await res.text()).toBe("6");
  });

  it("resets an HTTP/2 stream whose body stops arriving with CANCEL, leaves open-body paths alone", async () => {
    const port = await start(200);
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const open = session.request({ ":method": "POST", ":path": "/stream" });
      open.write("abc");
      const stalled = session.request({ ":method": "POST", ":path": "/x" });
      stalled.write("abc");
      const code = await new Promise<number>((resolve) =>
        stalled.on("close", () => resolve(stalled.rstCode ?? -1)),
      );
      expect(code).toBe(http2.constants.NGHTTP2_CANCEL);
      // The open-body stream, started first, is still open and still served.
      expect(open.closed).toBe(false);
      const body = await new Promise<string>((resolve) => {
        let text = "";
        open.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        open.on("end", () => resolve(text));
        open.end("de");
      });
      expect(body).toBe("5");
      // A body that ends in time is served.
      const whole = session.request({ ":method": "POST", ":path": "/x" });
      whole.end("abcdefg");
      const text = await new Promise<string>((resolve) => {
        let t = "";
        whole.on("data", (chunk: Buffer) => {
          t += chunk.toString();
        });
        whole.on("end", () => resolve(t));
      });
      expect(text).toBe("7");
    } finally {
      session.close();
    }
  });
});
