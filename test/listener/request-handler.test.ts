import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawHttp1 } from "../helpers/raw-exchange.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

let running: TestServer;
beforeAll(async () => {
  running = await startTestServer();
});
afterAll(async () => running?.server.shutdown());

describe("createRequestHandler", () => {
  it("answers 400 to an HTTP/1.1 request with two Host headers (RFC 9112 section 3.2)", async () => {
    const head = "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n";
    const raw = await rawHttp1(running.port, head, new Uint8Array());
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain("more than one Host header");
  });

  it("serves the same request with one Host", async () => {
    const head = "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    expect(await rawHttp1(running.port, head, new Uint8Array())).toMatch(/^HTTP\/1\.1 200 /);
  });
});
