import { randomBytes } from "node:crypto";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureLogs } from "../helpers/captured-logs.js";
import { grpcClient, grpcPredict } from "../helpers/inferd-grpc.js";
import { IRIS_SAMPLES, irisInputs } from "../helpers/iris-reference.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

/** Requests at the edge of what the protocols allow, on a server with the default limits. */
const logs = captureLogs();
let inferd: RunningInferd;
beforeAll(async () => {
  inferd = await startInferd({ models: ["iris"], logger: logs.logger });
});
afterAll(async () => {
  await inferd?.close();
});

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
      `POST /inferd.v1.InferenceService/Predict ${head}content-type: application/json\r\n` +
        "content-length: 2\r\n\r\n{}",
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
      const res = await fetch(`${inferd.baseUrl}/inferd.v1.InferenceService/Predict`, {
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
