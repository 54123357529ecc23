import { type Client, Code, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { InferenceService, type PredictResponse } from "../../gen/inferd/v1/inference_pb.js";
import { DataType } from "../../gen/inferd/v1/tensor_pb.js";
import { grpcClient, grpcPredict } from "../helpers/inferd-grpc.js";
import {
  distinctIrisRows,
  IRIS_SAMPLES,
  irisExpected,
  irisInputs,
  maxAbsDiff,
} from "../helpers/iris-reference.js";
import { useHttp2Sessions } from "../helpers/use-http2-sessions.js";
import { useInferd } from "../helpers/use-inferd.js";

const inferd = useInferd({ models: ["iris"] });
const h2 = useHttp2Sessions(() => inferd.baseUrl);

const ROWS = IRIS_SAMPLES;

/** The checks every protocol must pass: values, version, top-k labels and request id echo. */
function expectIris(res: PredictResponse, version: number, requestId: string): void {
  const expected = irisExpected(version, ROWS);
  expect(res.model).toBe("iris");
  expect(res.version).toBe(version);
  expect(res.requestId).toBe(requestId);
  const probs = res.outputs.probabilities;
  expect(probs?.dtype).toBe(DataType.FLOAT32);
  expect(probs?.shape).toEqual([3, 3]);
  expect(maxAbsDiff(probs?.floatData ?? [], expected.probabilities)).toBeLessThan(1e-6);
  expect(res.outputs.label?.int64Data).toEqual(expected.labels.map(BigInt));
  // The data set's own classes, and the two best labels in order with their scores.
  expect(expected.names).toEqual(["setosa", "versicolor", "virginica"]);
  res.classifications.forEach((c, row) => {
    const p = expected.probabilities.slice(row * 3, row * 3 + 3);
    const order = [0, 1, 2].sort((a, b) => (p[b] ?? 0) - (p[a] ?? 0)).slice(0, 2);
    expect(c.top.map((t) => t.index)).toEqual(order);
    expect(c.top[0]?.label).toBe(expected.names[row]);
    expect(
      maxAbsDiff(
        c.top.map((t) => t.score),
        order.map((i) => p[i] ?? NaN),
      ),
    ).toBeLessThan(1e-6);
  });
  expect(res.classifications).toHaveLength(3);
}

const transports: [string, () => Transport][] = [
  [
    "gRPC (connect-node)",
    () => createGrpcTransport({ baseUrl: inferd.baseUrl, sessionManager: h2() }),
  ],
  [
    "gRPC-Web over HTTP/1.1",
    () => createGrpcWebTransport({ baseUrl: inferd.baseUrl, httpVersion: "1.1" }),
  ],
  [
    "gRPC-Web over HTTP/2",
    () =>
      createGrpcWebTransport({ baseUrl: inferd.baseUrl, httpVersion: "2", sessionManager: h2() }),
  ],
  [
    "Connect binary over HTTP/1.1",
    () => createConnectTransport({ baseUrl: inferd.baseUrl, httpVersion: "1.1" }),
  ],
  [
    "Connect binary over HTTP/2",
    () =>
      createConnectTransport({ baseUrl: inferd.baseUrl, httpVersion: "2", sessionManager: h2() }),
  ],
  [
    "Connect JSON over HTTP/1.1",
    () =>
      createConnectTransport({
        baseUrl: inferd.baseUrl,
        httpVersion: "1.1",
        useBinaryFormat: false,
      }),
  ],
  [
    "Connect JSON over HTTP/2",
    () =>
      createConnectTransport({
        baseUrl: inferd.baseUrl,
        httpVersion: "2",
        useBinaryFormat: false,
        sessionManager: h2(),
      }),
  ],
];

describe("Predict on the production server, iris v1 and v2", () => {
  it("grpc-js with protobuf-es serializers", async () => {
    const client = grpcClient(inferd.port);
    try {
      for (const version of [1, 2]) {
        const requestId = `grpc-js-${version}`;
        const res = await grpcPredict(client, {
          model: "iris",
          version,
          requestId,
          topK: 2,
          inputs: irisInputs(ROWS),
        });
        expectIris(res, version, requestId);
      }
    } finally {
      client.close();
    }
  });

  it.each(transports)("%s", async (name, transport) => {
    const client: Client<typeof InferenceService> = createClient(InferenceService, transport());
    for (const version of [1, 2]) {
      const requestId = `${name} ${version}`;
      const res = await client.predict({
        model: "iris",
        version,
        requestId,
        topK: 2,
        inputs: irisInputs(ROWS),
      });
      expectIris(res, version, requestId);
    }
    // Unpinned requests go to the newest ready version.
    expect((await client.predict({ model: "iris", inputs: irisInputs(ROWS) })).version).toBe(2);
  });

  // 100 rows are 400 floats: the binary decoder reads them as a Float32Array.
  it.each(transports)("%s: 100 rows, and 399 floats for them refused", async (_, transport) => {
    const client: Client<typeof InferenceService> = createClient(InferenceService, transport());
    const rows = distinctIrisRows(100, 0);
    const res = await client.predict({ model: "iris", version: 1, inputs: irisInputs(rows) });
    const expected = irisExpected(1, rows);
    expect(res.outputs.probabilities?.shape).toEqual([100, 3]);
    expect(
      maxAbsDiff(res.outputs.probabilities?.floatData ?? [], expected.probabilities),
    ).toBeLessThan(1e-6);
    expect(res.outputs.label?.int64Data).toEqual(expected.labels.map(BigInt));
    const features = { shape: [100, 4], floatData: rows.flat().slice(1) };
    await expect(client.predict({ model: "iris", inputs: { features } })).rejects.toMatchObject({
      code: Code.InvalidArgument,
      rawMessage: 'input "features": the shape needs 400 values but float_data has 399',
    });
  });

  it("plain fetch POST of JSON", async () => {
    const res = await fetch(`${inferd.baseUrl}/inferd.v1.InferenceService/Predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "iris",
        requestId: "fetch-1",
        topK: 2,
        inputs: { features: { shape: [3, 4], floatData: ROWS.flat() } },
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      model: string;
      version: number;
      requestId: string;
      outputs: Record<
        string,
        { dtype: string; shape: number[]; floatData?: number[]; int64Data?: string[] }
      >;
      classifications: { top: { label: string; score: number; index?: number }[] }[];
    };
    const expected = irisExpected(2, ROWS);
    expect(body).toMatchObject({ model: "iris", version: 2, requestId: "fetch-1" });
    expect(body.outputs.probabilities?.dtype).toBe("DATA_TYPE_FLOAT32");
    expect(body.outputs.probabilities?.shape).toEqual([3, 3]);
    expect(
      maxAbsDiff(body.outputs.probabilities?.floatData ?? [], expected.probabilities),
    ).toBeLessThan(1e-6);
    // proto3 JSON writes int64 as strings.
    expect(body.outputs.label?.int64Data).toEqual(expected.labels.map(String));
    expect(body.classifications.map((c) => c.top[0]?.label)).toEqual(expected.names);
    expect(body.classifications.map((c) => c.top.length)).toEqual([2, 2, 2]);
  });

  it("refuses JSON with a misspelt field or enum name with InvalidArgument naming it", async () => {
    const post = (body: object) =>
      fetch(`${inferd.baseUrl}/inferd.v1.InferenceService/Predict`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const inputs = { features: { shape: [1, 4], floatData: [5.1, 3.5, 1.4, 0.2] } };
    const field = await post({ model: "iris", rawOutput: true, inputs });
    expect(field.status).toBe(400);
    const fieldError = (await field.json()) as { code: string; message: string };
    expect(fieldError.code).toBe("invalid_argument");
    expect(fieldError.message).toContain("rawOutput");
    const features = { ...inputs.features, dtype: "DATA_TYPE_FLOAT6" };
    const enumName = await post({ model: "iris", inputs: { features } });
    expect(enumName.status).toBe(400);
    expect(((await enumName.json()) as { message: string }).message).toContain("DATA_TYPE_FLOAT6");
  });
});

describe("BatchPredict with a bad item in the middle", () => {
  it("answers the good items with the right values and the bad one InvalidArgument naming the input", async () => {
    const client = createClient(
      InferenceService,
      createConnectTransport({ baseUrl: inferd.baseUrl, httpVersion: "1.1" }),
    );
    // [version, sample row]; the middle item has 3 features instead of 4.
    const good: [number, number][] = [
      [1, 0],
      [2, 1],
      [2, 2],
      [1, 0],
    ];
    const goodRequest = ([version, sample]: [number, number], i: number) => ({
      model: "iris",
      version,
      requestId: `b${i}`,
      inputs: irisInputs([ROWS[sample] ?? []]),
    });
    const bad = {
      model: "iris",
      requestId: "bad",
      inputs: { features: { shape: [1, 3], floatData: [1, 2, 3] } },
    };
    const requests = good.map(goodRequest);
    const { results } = await client.batchPredict({
      requests: [...requests.slice(0, 2), bad, ...requests.slice(2)],
    });
    expect(results.map((r) => r.requestId)).toEqual(["b0", "b1", "bad", "b2", "b3"]);
    const [error] = results.splice(2, 1);
    expect(error?.result.case).toBe("error");
    const status = error?.result.case === "error" ? error.result.value : undefined;
    expect(status?.code).toBe(Code.InvalidArgument);
    expect(status?.code).toBe(3);
    expect(status?.message).toContain('input "features"');
    results.forEach((r, i) => {
      const [version, sample] = good[i] ?? [0, 0];
      expect(r.result.case).toBe("response");
      const res = r.result.case === "response" ? r.result.value : undefined;
      expect(res?.version).toBe(version);
      expect(res?.requestId).toBe(`b${i}`);
      const expected = irisExpected(version, [ROWS[sample] ?? []]);
      const got = res?.outputs.probabilities?.floatData ?? [];
      expect(maxAbsDiff(got, expected.probabilities)).toBeLessThan(1e-6);
    });
  });
});
