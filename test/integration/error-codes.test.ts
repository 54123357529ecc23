import type { MessageInitShape } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InferenceService, type PredictRequestSchema } from "../../gen/inferd/v1/inference_pb.js";
import { DataType, type TensorSchema } from "../../gen/inferd/v1/tensor_pb.js";
import { grpcClient, grpcFailure, grpcPredict } from "../helpers/inferd-grpc.js";
import { IRIS_SAMPLES, irisExpected, irisInputs, maxAbsDiff } from "../helpers/iris-reference.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

const LIMIT = 64 * 1024;
let inferd: RunningInferd;
let grpcjs: grpc.Client;

// Explicit mode with iris loaded: multi_io exists but is not loaded.
beforeAll(async () => {
  inferd = await startInferd({
    models: ["iris", "multi_io"],
    config: { modelControlMode: "explicit", loadModel: ["iris"], maxRequestBytes: LIMIT },
  });
  grpcjs = grpcClient(inferd.port);
});
afterAll(async () => {
  grpcjs?.close();
  await inferd?.close();
});

type Request = MessageInitShape<typeof PredictRequestSchema>;
type Tensor = MessageInitShape<typeof TensorSchema>;
/** How a call failed: the gRPC code number and the message. */
type Failure = { code: number; message: string };

const clients: [string, (request: Request) => Promise<Failure>][] = [
  [
    "grpc-js",
    async (request) => {
      const e = await grpcFailure(grpcPredict(grpcjs, request));
      return { code: e.code, message: e.details };
    },
  ],
  [
    "Connect JSON",
    async (request) => {
      const client = createClient(
        InferenceService,
        createConnectTransport({
          baseUrl: inferd.baseUrl,
          httpVersion: "1.1",
          useBinaryFormat: false,
        }),
      );
      const e = await client.predict(request).then(() => {
        throw new Error("expected the call to fail");
      }, ConnectError.from);
      return { code: e.code, message: e.rawMessage };
    },
  ],
  [
    "gRPC-Web",
    async (request) => {
      const client = createClient(
        InferenceService,
        createGrpcWebTransport({ baseUrl: inferd.baseUrl, httpVersion: "1.1" }),
      );
      const e = await client.predict(request).then(() => {
        throw new Error("expected the call to fail");
      }, ConnectError.from);
      return { code: e.code, message: e.rawMessage };
    },
  ],
];

const iris = (features: Tensor, extra: Record<string, Tensor> = {}): Request => ({
  model: "iris",
  inputs: { features, ...extra },
});
const row = [...(IRIS_SAMPLES[0] ?? [])];
const FLOAT = DataType.FLOAT32;
const { INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE, RESOURCE_EXHAUSTED } = grpc.status;

const CASES: [string, Request, number, string][] = [
  ["unknown model", { model: "nope" }, NOT_FOUND, 'model "nope" not found; models: iris, multi_io'],
  [
    "unknown version",
    { model: "iris", version: 7 },
    NOT_FOUND,
    'model "iris" has no version 7; versions: 1, 2',
  ],
  ["version not loaded", { model: "multi_io", version: 1 }, UNAVAILABLE, "version 1 not loaded"],
  ["missing input", { model: "iris", inputs: {} }, INVALID_ARGUMENT, 'missing input "features"'],
  [
    "unknown input",
    iris(
      { dtype: FLOAT, shape: [1, 4], floatData: row },
      { petals: { shape: [1], floatData: [1] } },
    ),
    INVALID_ARGUMENT,
    'unknown input "petals"; the model expects: features',
  ],
  [
    "dtype mismatch",
    iris({ dtype: DataType.FLOAT64, shape: [1, 4], doubleData: row }),
    INVALID_ARGUMENT,
    'input "features": dtype float64 does not match the model\'s float32',
  ],
  [
    "rank mismatch",
    iris({ shape: [4], floatData: row }),
    INVALID_ARGUMENT,
    'input "features": rank 1',
  ],
  [
    "dim mismatch",
    iris({ shape: [1, 3], floatData: row.slice(0, 3) }),
    INVALID_ARGUMENT,
    'input "features": dimension 1 is 3 but the model requires 4',
  ],
  [
    "element count not matching the shape",
    iris({ shape: [2, 4], floatData: row }),
    INVALID_ARGUMENT,
    'input "features": the shape needs 8',
  ],
  [
    "raw bytes length mismatch",
    iris({ dtype: FLOAT, shape: [1, 4], rawData: new Uint8Array(15) }),
    INVALID_ARGUMENT,
    'input "features": the shape needs 16 bytes',
  ],
  [
    "two data fields set",
    iris({ dtype: FLOAT, shape: [1, 4], floatData: row, rawData: new Uint8Array(16) }),
    INVALID_ARGUMENT,
    'input "features": more than one data field set',
  ],
  [
    "request larger than --max-request-bytes",
    iris({ shape: [5000, 4], floatData: new Array<number>(20_000).fill(1.5) }),
    RESOURCE_EXHAUSTED,
    String(LIMIT),
  ],
];

describe.each(clients)("Predict errors over %s", (_client, fail) => {
  it.each(CASES)("%s", async (_case, request, code, message) => {
    const failure = await fail(request);
    expect(failure.code).toBe(code);
    expect(failure.message).toContain(message);
  });

  it("still answers a good request afterwards", async () => {
    const res = await grpcPredict(grpcjs, { model: "iris", inputs: irisInputs(IRIS_SAMPLES) });
    const expected = irisExpected(2, IRIS_SAMPLES).probabilities;
    expect(maxAbsDiff(res.outputs.probabilities?.floatData ?? [], expected)).toBeLessThan(1e-6);
  });
});

describe("a request over --max-request-bytes names the flag", () => {
  it("on unary gRPC (the lean gRPC path)", async () => {
    const big = iris({ shape: [5000, 4], floatData: new Array<number>(20_000).fill(1.5) });
    const e = await grpcFailure(grpcPredict(grpcjs, big));
    expect(e.code).toBe(RESOURCE_EXHAUSTED);
    expect(e.details).toBe(
      `message size 80033 is larger than the server's limit of ${LIMIT} bytes (--max-request-bytes)`,
    );
  });

  it("on a PredictStream message (connect-node's stream path, mapped by withErrorMapping)", async () => {
    const client = createClient(InferenceService, createGrpcTransport({ baseUrl: inferd.baseUrl }));
    const big = iris({ shape: [5000, 4], floatData: new Array<number>(20_000).fill(1.5) });
    async function* requests() {
      yield { request: big };
    }
    const e = await (async () => {
      for await (const _ of client.predictStream(requests())) {
      }
    })().then(() => expect.fail("expected the stream to fail"), ConnectError.from);
    expect(e.code).toBe(RESOURCE_EXHAUSTED);
    expect(e.rawMessage).toContain(
      `than the server's limit of ${LIMIT} bytes (--max-request-bytes)`,
    );
  });
});
