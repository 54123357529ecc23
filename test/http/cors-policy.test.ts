import { cors } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const ORIGIN = "https://app.example";
const PREDICT = "/inferd.v1.InferenceService/Predict";
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ corsOrigin: [ORIGIN] });
});
afterAll(() => t.server.shutdown());

describe("CORS on the one port", () => {
  it("answers a preflight from an allowed origin with Connect's methods and headers", async () => {
    const res = await fetch(`${t.baseUrl}${PREDICT}`, {
      method: "OPTIONS",
      headers: {
        origin: ORIGIN,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,connect-protocol-version",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(res.headers.get("access-control-allow-methods")).toBe(cors.allowedMethods.join(", "));
    const allowed = res.headers.get("access-control-allow-headers")?.toLowerCase().split(", ");
    expect(allowed).toContain("connect-protocol-version");
    // A browser client of a server with --api-key sends its key in Authorization.
    expect(allowed).toContain("authorization");
  });

  it("adds allow-origin and exposed headers to an allowed origin's call, none for others", async () => {
    const call = (origin: string) =>
      fetch(`${t.baseUrl}${PREDICT}`, {
        method: "POST",
        headers: { origin, "content-type": "application/json" },
        body: JSON.stringify({ model: "iris" }),
      });
    const allowed = await call(ORIGIN);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(allowed.headers.get("access-control-expose-headers")).toContain("Grpc-Status");
    const other = await call("https://evil.example");
    expect(other.status).toBe(200);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    await allowed.text();
    await other.text();
  });
});
