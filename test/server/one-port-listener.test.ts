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
});
