import { spawn } from "node:child_process";
import http2 from "node:http2";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  createOnePortListener,
  type OnePortListener,
} from "../../src/listener/one-port-listener.js";

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
      // The answering client runs in this process: a long timeout lets it ack even when a
      // loaded machine pauses the process for a while after a PING.
      keepalive: { timeMs: 150, timeoutMs: 1500 },
    });
    const port = await listener.listen(0, "127.0.0.1");
    // A raw peer: the client preface and an empty SETTINGS frame, then nothing (it acks no PING).
    const mute = closedAfter(
      port,
      `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n${frame(4, 0).toString("latin1")}`,
    );
    const client = http2.connect(`http://127.0.0.1:${port}`);
    let clientClosed = false;
    client.on("close", () => (clientClosed = true));
    const ms = await mute;
    expect(ms).toBeGreaterThanOrEqual(1600);
    expect(ms).toBeLessThan(6000);
    // The well-behaved client (Node acks PINGs) was pinged too, and is still served.
    await new Promise((r) => setTimeout(r, 300));
    expect(clientClosed).toBe(false);
    expect(await bodyOf(client.request({ ":path": "/" }))).toBe("ok");
    client.close();
  });

  it("pings again at every quiet spell: a peer that answers once, then goes mute, is closed", async () => {
    listener = createOnePortListener({
      handler: (_req, res) => res.end("ok"),
      // As above: the in-process peer has 1 s to ack the first PING, however loaded the machine.
      keepalive: { timeMs: 150, timeoutMs: 1000 },
    });
    const port = await listener.listen(0, "127.0.0.1");
    const pings: number[] = [];
    const started = Date.now();
    const closed = await new Promise<number>((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () =>
        socket.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), frame(4, 0)])),
      );
      let buffered = Buffer.alloc(0);
      socket.on("data", (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 9) {
          const length = buffered.readUIntBE(0, 3);
          if (buffered.length < 9 + length) break;
          const [type, flags] = [buffered[3], buffered[4]];
          const payload = buffered.subarray(9, 9 + length);
          buffered = buffered.subarray(9 + length);
          if (type !== 6 || flags !== 0) continue;
          pings.push(Date.now() - started);
          if (pings.length === 1) socket.write(frame(6, 1, payload)); // ack the first only
        }
      });
      socket.on("error", reject);
      socket.on("close", () => resolve(Date.now() - started));
    });
    expect(pings.length).toBe(2);
    expect(closed).toBeGreaterThanOrEqual(1250);
    expect(closed).toBeLessThan(6000);
  });

  it("advertises its limit of concurrent streams per connection, and holds to it", async () => {
    let open = 0;
    let most = 0;
    listener = createOnePortListener({
      handler: (_req, res) => {
        most = Math.max(most, ++open);
        setTimeout(() => {
          open--;
          res.end("ok");
        }, 50);
      },
      maxConcurrentStreams: 2,
    });
    const port = await listener.listen(0, "127.0.0.1");
    const client = http2.connect(`http://127.0.0.1:${port}`);
    const settings = await new Promise<http2.Settings>((resolve) =>
      client.once("remoteSettings", resolve),
    );
    expect(settings.maxConcurrentStreams).toBe(2);
    const bodies = await Promise.all(
      Array.from({ length: 5 }, () => bodyOf(client.request({ ":path": "/" }))),
    );
    expect(bodies).toEqual(["ok", "ok", "ok", "ok", "ok"]);
    expect(most).toBe(2);
    client.close();
  });

  it("keeps a connection whose ack came while the event loop was stalled past the timeout", async () => {
    listener = createOnePortListener({
      handler: (_req, res) => res.end("ok"),
      keepalive: { timeMs: 100, timeoutMs: 100 },
    });
    const port = await listener.listen(0, "127.0.0.1");
    // The peer runs in its own process, so it acks at once while this loop is stalled.
    const peer = spawn(process.execPath, ["-e", PEER, `http://127.0.0.1:${port}`]);
    const lines: string[] = [];
    peer.stdout.setEncoding("utf8").on("data", (text: string) => lines.push(...text.split("\n")));
    const sessionProto = Object.getPrototypeOf(ServerSessionProbe.prototype()) as {
      ping: (...args: unknown[]) => boolean;
    };
    const ping = sessionProto.ping;
    let stalls = 0;
    // Each server PING is followed, once it is on the wire, by a 500 ms stall (timeout: 100 ms).
    sessionProto.ping = function (this: http2.Http2Session, ...args: unknown[]) {
      const sent = ping.apply(this, args);
      if (this.type === http2.constants.NGHTTP2_SESSION_SERVER && stalls < 3) {
        stalls++;
        setImmediate(() => {
          const until = Date.now() + 500;
          while (Date.now() < until) {}
        });
      }
      return sent;
    };
    try {
      await waitForLine(lines, "ok");
      await new Promise((r) => setTimeout(r, 2500));
      expect(stalls).toBe(3);
      peer.stdin.write("again\n");
      await waitForLine(lines, "ok again");
      expect(lines).not.toContain("closed");
    } finally {
      sessionProto.ping = ping;
      peer.kill();
    }
  });

  it("leaves a session that is closing (client GOAWAY) to finish its stream", async () => {
    let received = () => {};
    const arrived = new Promise<void>((resolve) => (received = resolve));
    listener = createOnePortListener({
      handler: (_req, res) => {
        received();
        setTimeout(() => res.end("ok"), 700);
      },
      keepalive: { timeMs: 150, timeoutMs: 150 },
    });
    const port = await listener.listen(0, "127.0.0.1");
    const client = http2.connect(`http://127.0.0.1:${port}`);
    const req = client.request({ ":path": "/" });
    req.end();
    await arrived;
    client.close(); // GOAWAY: no new streams, the open one runs to its end
    expect(await bodyOf(req)).toBe("ok");
  });
});

/** An HTTP/2 frame on stream 0. */
function frame(type: number, flags: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  return Buffer.concat([header, payload]);
}

/** A peer in another process: one request at start, another on a stdin line; says when closed. */
const PEER = `
const http2 = require("node:http2");
const client = http2.connect(process.argv[1]);
client.on("error", () => {});
client.on("close", () => console.log("closed"));
const get = (said) => {
  const req = client.request({ ":path": "/" });
  req.resume();
  req.on("end", () => console.log(said));
};
get("ok");
process.stdin.on("data", () => get("ok again"));
`;

/** Http2Session.prototype, which server sessions share with client ones. */
const ServerSessionProbe = {
  prototype(): object {
    const probe = http2.connect("http://127.0.0.1:1");
    probe.on("error", () => {});
    const proto = Object.getPrototypeOf(probe) as object;
    probe.destroy();
    return proto;
  },
};

async function waitForLine(lines: string[], line: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!lines.includes(line)) {
    if (Date.now() > deadline) throw new Error(`no "${line}" from the peer; it said ${lines}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The response body of an HTTP/2 client stream, as text. */
function bodyOf(req: http2.ClientHttp2Stream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (text += chunk));
    req.on("end", () => resolve(text));
    req.on("error", reject);
  });
}
