import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { captureLogs } from "../helpers/captured-logs.js";
import { grpcClient, grpcFailure, grpcPredict } from "../helpers/inferd-grpc.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

/** Values that must never reach the log: the tensor's numbers and the credential. */
const SECRET_VALUE = 9876.54321;
const TOKEN = "Bearer sk-inferd-test-7f3a9c";

const logs = captureLogs();
const { parsed, rpcLines } = logs;
let inferd: RunningInferd;
let client: grpc.Client;

beforeAll(async () => {
  inferd = await startInferd({ models: ["iris"], logger: logs.logger });
  client = grpcClient(inferd.port);
});
afterAll(async () => {
  client?.close();
  await inferd?.close();
});

describe("access log of the production server", () => {
  it("writes one warn line for a failed grpc-js call: code, timing, peer, ids; no tensor values, no token", async () => {
    const metadata = new grpc.Metadata();
    metadata.set("authorization", TOKEN);
    const values = [SECRET_VALUE, SECRET_VALUE, SECRET_VALUE];
    const request = {
      model: "iris",
      version: 2,
      requestId: "log-bad-1",
      inputs: { features: { shape: [1, 3], floatData: values } },
    };
    const error = await grpcFailure(grpcPredict(client, request, {}, metadata));
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    await expect.poll(() => rpcLines("log-bad-1").length, { timeout: 5000 }).toBe(1);
    const [line] = rpcLines("log-bad-1");
    expect(line).toMatchObject({
      level: 40,
      msg: "rpc",
      procedure: "/inferd.v1.InferenceService/Predict",
      protocol: "grpc",
      code: "invalid_argument",
      request_id: "log-bad-1",
      model: "iris",
      version: 2,
    });
    expect(line?.peer).toMatch(/127\.0\.0\.1$/);
    expect(typeof line?.duration_ms).toBe("number");
    expect(line?.duration_ms as number).toBeGreaterThanOrEqual(0);
  });

  it("writes one info line for an OK Connect call with an authorization header, whose value never appears", async () => {
    const connect = createClient(
      InferenceService,
      createConnectTransport({ baseUrl: inferd.baseUrl, httpVersion: "1.1" }),
    );
    await connect.predict(
      {
        model: "iris",
        requestId: "log-ok-1",
        inputs: { features: { shape: [1, 4], floatData: [SECRET_VALUE, 3.5, 1.4, 0.2] } },
      },
      { headers: { authorization: TOKEN } },
    );
    await expect.poll(() => rpcLines("log-ok-1").length, { timeout: 5000 }).toBe(1);
    expect(rpcLines("log-ok-1")[0]).toMatchObject({
      level: 30,
      protocol: "connect",
      code: "ok",
      model: "iris",
      // Unpinned request: the version comes from the response.
      version: 2,
    });
    const all = logs.text.join("");
    expect(all).not.toContain("sk-inferd-test");
    expect(all).not.toContain("9876.5");
    expect(all).not.toContain('features":{');
    // Every line is one JSON object.
    expect(parsed().every((l) => typeof l.time === "string" && l.service === "inferd")).toBe(true);
  });
});
