import type * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PredictResponse } from "../../../gen/inferd/v1/inference_pb.js";
import { createPredictor, type PredictCall } from "../../../src/inference/predictor.js";
import type { ModelConfig } from "../../../src/registry/model-config.js";
import { createAffineModel, createFakeModel } from "../../helpers/fake-model.js";
import { createFakeRegistry } from "../../helpers/fake-registry.js";
import { grpcClient, grpcPredict } from "../../helpers/inferd-grpc.js";
import { IRIS_SAMPLES } from "../../helpers/iris-reference.js";
import { type RunningInferd, startInferd } from "../../helpers/start-inferd.js";
import { type OipTestServer, startOipServer } from "../../helpers/start-oip-server.js";

const LIMIT = 8192;

interface JsonOutput {
  name: string;
  datatype: string;
  shape: number[];
  data?: (number | boolean | string)[];
  parameters?: { binary_data_size?: number };
}
interface InferJson {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: JsonOutput[];
}
interface Answer {
  status: number;
  headers: Headers;
  bytes: Buffer;
}

async function send(url: string, body: Buffer | string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: "POST", body, headers });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

const json = <T>(a: Answer): T => JSON.parse(a.bytes.toString("utf8")) as T;
const errorOf = (a: Answer) => json<{ error: string }>(a).error;

/** A binary-extension body: the JSON header, then the tensors' bytes; and its header length. */
function binaryBody(header: unknown, ...tensors: Uint8Array[]) {
  const head = Buffer.from(JSON.stringify(header));
  return {
    body: Buffer.concat([head, ...tensors]),
    headers: {
      "content-type": "application/octet-stream",
      "inference-header-content-length": String(head.length),
    },
  };
}

/** A binary-extension answer split back into its JSON and each binary output's bytes. */
function splitAnswer(a: Answer): { head: InferJson; binary: Map<string, Buffer> } {
  const length = Number(a.headers.get("inference-header-content-length"));
  const head = JSON.parse(a.bytes.subarray(0, length).toString("utf8")) as InferJson;
  const binary = new Map<string, Buffer>();
  let at = length;
  for (const o of head.outputs) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) continue;
    binary.set(o.name, a.bytes.subarray(at, at + size));
    at += size;
  }
  expect(at).toBe(a.bytes.length);
  return { head, binary };
}

const f32 = (values: readonly number[]) => Buffer.from(Float32Array.from(values).buffer);
const i64 = (values: readonly (number | bigint)[]) =>
  Buffer.from(BigInt64Array.from(values, (v) => BigInt(v)).buffer);
/** The little-endian bytes of a JSON output's data (FP32 or INT64). */
const jsonBytes = (o: JsonOutput | undefined) =>
  o?.datatype === "INT64" ? i64(o.data as number[]) : f32((o?.data ?? []) as number[]);
/** Predict's bytes for `name`: the bit-for-bit reference. */
function predictBytes(res: PredictResponse, name: string): Buffer {
  const t = res.outputs[name];
  return t?.int64Data.length ? i64(t.int64Data) : f32(t?.floatData ?? []);
}
const outputOf = (r: InferJson, name: string) => r.outputs.find((o) => o.name === name);

const ROWS = IRIS_SAMPLES.map((r) => [...r]);
const A = [-2, -1.5, -1, -0.5, 0, 0.5];
const B = [1.25, 0.5, -0.25, -1, -1.75, -2.5];
const K = [-2, 1];

describe("OIP REST infer and model metadata on the production server", () => {
  let inferd: RunningInferd;
  let client: grpc.Client;
  let iris: PredictResponse;
  const url = (path: string) => `${inferd.baseUrl}${path}`;
  const infer = (path: string, body: unknown) => send(url(path), JSON.stringify(body));
  beforeAll(async () => {
    inferd = await startInferd({
      models: ["iris", "multi_io", "text_echo"],
      config: { maxRequestBytes: LIMIT },
    });
    client = grpcClient(inferd.port);
    iris = await grpcPredict(client, {
      model: "iris",
      version: 2,
      inputs: { features: { shape: [3, 4], floatData: ROWS.flat() } },
    });
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await inferd?.close();
  });

  it("answers model metadata with OIP datatypes and -1 for free dimensions", async () => {
    const res = await fetch(url("/v2/models/iris"));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      name: "iris",
      versions: ["1", "2"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "features", datatype: "FP32", shape: [-1, 4] }],
      outputs: [
        { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
        { name: "label", datatype: "INT64", shape: [-1] },
      ],
    });
    expect((await fetch(url("/v2/models/iris/versions/1"))).status).toBe(200);
    const missing = await fetch(url("/v2/models/iris/versions/7"));
    expect([missing.status, await missing.json()]).toEqual([
      404,
      { error: 'model "iris" has no version 7; versions: 1, 2' },
    ]);
    const unknown = await fetch(url("/v2/models/nope"));
    expect(unknown.status).toBe(404);
  });

  it("answers JSON infer on Iris with Predict's outputs bit for bit, flat or nested data", async () => {
    const flat = {
      id: "req-7",
      inputs: [{ name: "features", shape: [3, 4], datatype: "FP32", data: ROWS.flat() }],
    };
    const nested = { inputs: [{ ...flat.inputs[0], data: ROWS }] };
    for (const [body, id] of [
      [flat, "req-7"],
      [nested, undefined],
    ] as const) {
      const a = await infer("/v2/models/iris/versions/2/infer", body);
      expect(a.status).toBe(200);
      expect(a.headers.get("content-type")).toBe("application/json; charset=utf-8");
      const r = json<InferJson>(a);
      expect([r.model_name, r.model_version, r.id]).toEqual(["iris", "2", id]);
      expect(r.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([
        ["probabilities", "FP32", [3, 3]],
        ["label", "INT64", [3]],
      ]);
      for (const name of ["probabilities", "label"]) {
        expect(jsonBytes(outputOf(r, name))).toEqual(predictBytes(iris, name));
      }
    }
  });

  it("answers multi_io (FP32 and INT64 inputs) as Predict does, and only the outputs asked for", async () => {
    const predict = await grpcPredict(client, {
      model: "multi_io",
      inputs: {
        a: { shape: [2, 3], floatData: A },
        b: { shape: [2, 3], floatData: B },
        k: { shape: [2, 1], int64Data: K.map(BigInt) },
      },
    });
    const inputs = [
      { name: "a", shape: [2, 3], datatype: "FP32", data: A },
      { name: "b", shape: [2, 3], datatype: "FP32", data: [B.slice(0, 3), B.slice(3)] },
      { name: "k", shape: [2, 1], datatype: "INT64", data: K },
    ];
    const all = json<InferJson>(await infer("/v2/models/multi_io/infer", { inputs }));
    expect(all.outputs.map((o) => o.name).sort()).toEqual(["dot", "scaled", "sum"]);
    for (const name of ["dot", "scaled", "sum"]) {
      expect(jsonBytes(outputOf(all, name))).toEqual(predictBytes(predict, name));
    }
    const some = await infer("/v2/models/multi_io/infer", {
      inputs,
      outputs: [{ name: "dot" }, { name: "sum" }],
    });
    expect(json<InferJson>(some).outputs.map((o) => o.name)).toEqual(["dot", "sum"]);
  });

  it("takes binary inputs and answers binary outputs (Triton's binary tensor extension)", async () => {
    const { body, headers } = binaryBody(
      {
        inputs: [
          {
            name: "features",
            shape: [3, 4],
            datatype: "FP32",
            parameters: { binary_data_size: 48 },
          },
        ],
        outputs: [{ name: "probabilities", parameters: { binary_data: true } }, { name: "label" }],
      },
      f32(ROWS.flat()),
    );
    const a = await send(url("/v2/models/iris/versions/2/infer"), body, headers);
    expect(a.status).toBe(200);
    expect(a.headers.get("content-type")).toBe("application/octet-stream");
    const { head, binary } = splitAnswer(a);
    expect(outputOf(head, "probabilities")).toEqual({
      name: "probabilities",
      datatype: "FP32",
      shape: [3, 3],
      parameters: { binary_data_size: 36 },
    });
    expect(binary.get("probabilities")).toEqual(predictBytes(iris, "probabilities"));
    expect(jsonBytes(outputOf(head, "label"))).toEqual(predictBytes(iris, "label"));
  });

  it("mixes binary and JSON inputs, and binary_data_output makes every output binary", async () => {
    const predict = await grpcPredict(client, {
      model: "multi_io",
      inputs: {
        a: { shape: [2, 3], floatData: A },
        b: { shape: [2, 3], floatData: B },
        k: { shape: [2, 1], int64Data: K.map(BigInt) },
      },
    });
    const { body, headers } = binaryBody(
      {
        parameters: { binary_data_output: true },
        inputs: [
          { name: "a", shape: [2, 3], datatype: "FP32", parameters: { binary_data_size: 24 } },
          { name: "b", shape: [2, 3], datatype: "FP32", data: B },
          { name: "k", shape: [2, 1], datatype: "INT64", parameters: { binary_data_size: 16 } },
        ],
        outputs: [
          { name: "sum" },
          { name: "scaled" },
          { name: "dot", parameters: { binary_data: false } },
        ],
      },
      f32(A),
      i64(K),
    );
    const { head, binary } = splitAnswer(
      await send(url("/v2/models/multi_io/infer"), body, headers),
    );
    expect([...binary.keys()]).toEqual(["sum", "scaled"]);
    expect(binary.get("sum")).toEqual(predictBytes(predict, "sum"));
    expect(binary.get("scaled")).toEqual(predictBytes(predict, "scaled"));
    expect(jsonBytes(outputOf(head, "dot"))).toEqual(predictBytes(predict, "dot"));
  });

  it("carries BYTES as JSON strings and as length-prefixed binary elements", async () => {
    const words = ["héllo", "", "wörld"];
    const a = await infer("/v2/models/text_echo/infer", {
      inputs: [{ name: "text", shape: [3], datatype: "BYTES", data: words }],
      outputs: [{ name: "upper" }],
    });
    expect(json<InferJson>(a).outputs).toEqual([
      // The model uppercases ASCII only (StringNormalizer, locale "C").
      { name: "upper", datatype: "BYTES", shape: [3], data: ["HéLLO", "", "WöRLD"] },
    ]);
    const elements = words.map((w) => {
      const bytes = Buffer.from(w, "utf8");
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bytes.length);
      return Buffer.concat([length, bytes]);
    });
    const raw = Buffer.concat(elements);
    const { body, headers } = binaryBody(
      {
        inputs: [
          {
            name: "text",
            shape: [3],
            datatype: "BYTES",
            parameters: { binary_data_size: raw.length },
          },
        ],
        outputs: [{ name: "echo", parameters: { binary_data: true } }],
      },
      raw,
    );
    const { binary } = splitAnswer(await send(url("/v2/models/text_echo/infer"), body, headers));
    expect(binary.get("echo")).toEqual(raw);
  });

  it("answers the classification parameter with 'score:index:label' strings, best first", async () => {
    const a = await infer("/v2/models/iris/versions/2/infer", {
      inputs: [{ name: "features", shape: [3, 4], datatype: "FP32", data: ROWS.flat() }],
      outputs: [{ name: "probabilities", parameters: { classification: 2 } }],
    });
    expect(a.status).toBe(200);
    const out = json<InferJson>(a).outputs;
    expect(out.map((o) => [o.name, o.datatype, o.shape])).toEqual([
      ["probabilities", "BYTES", [3, 2]],
    ]);
    const data = out[0]?.data as string[];
    const probabilities = iris.outputs.probabilities?.floatData ?? [];
    const labels = ["setosa", "versicolor", "virginica"];
    for (let row = 0; row < 3; row++) {
      const scores = probabilities.slice(row * 3, row * 3 + 3);
      const order = [0, 1, 2].sort((x, y) => (scores[y] ?? 0) - (scores[x] ?? 0));
      const [best, second] = [data[row * 2], data[row * 2 + 1]].map((s) => s?.split(":"));
      expect([best?.[1], best?.[2], second?.[1]]).toEqual([
        String(order[0]),
        labels[order[0] ?? 0],
        String(order[1]),
      ]);
      expect(Math.fround(Number(best?.[0]))).toBe(scores[order[0] ?? 0]);
    }
  });

  describe("errors, as {error} with the spec's statuses", () => {
    const irisInput = (init: Record<string, unknown>) => ({
      inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: ROWS[0], ...init }],
    });
    const refusal = async (a: Promise<Answer>) => {
      const answer = await a;
      return [answer.status, errorOf(answer)];
    };
    const irisInfer = (body: unknown) => infer("/v2/models/iris/infer", body);

    it("400 for tensors that do not fit the model", async () => {
      expect(
        await refusal(irisInfer(irisInput({ datatype: "INT32", data: [5, 3, 1, 0] }))),
      ).toEqual([400, 'input "features": datatype INT32 does not match the model\'s FP32']);
      expect(
        await refusal(irisInfer(irisInput({ shape: [1, 5], data: [...(ROWS[0] ?? []), 1] }))),
      ).toEqual([
        400,
        'input "features": dimension 1 is 5 but the model requires 4 (shape [-1, 4], -1 is free)',
      ]);
      expect(await refusal(irisInfer(irisInput({ datatype: "FLOAT" })))).toEqual([
        400,
        expect.stringMatching(/^input "features": unknown datatype "FLOAT"; use one of BOOL, /),
      ]);
    });

    it("400 for data that does not fit its own shape or datatype", async () => {
      expect(await refusal(irisInfer(irisInput({ data: [1, 2, 3] })))).toEqual([
        400,
        'input "features": the shape [1, 4] needs 4 values but data has 3',
      ]);
      expect(
        await refusal(irisInfer(irisInput({ shape: [2, 2], data: [[1, 2, 3], [4]] }))),
      ).toEqual([
        400,
        'input "features": nested data does not match the shape [2, 2]: data[0] has 3 elements, not 2',
      ]);
      expect(await refusal(irisInfer(irisInput({ data: [1, "2", 3, 4] })))).toEqual([
        400,
        'input "features": data[1] is "2"; FP32 data holds numbers',
      ]);
      expect(await refusal(irisInfer(irisInput({ datatype: "FP16" })))).toEqual([
        400,
        'input "features": datatype FP16 has no JSON form; send it as binary data (Inference-Header-Content-Length and parameters.binary_data_size)',
      ]);
    });

    it("400 for binary data of the wrong size and a header length past the body", async () => {
      const header = irisInput({ data: undefined, parameters: { binary_data_size: 12 } });
      const short = binaryBody(header, f32([1, 2, 3]));
      expect(await refusal(send(url("/v2/models/iris/infer"), short.body, short.headers))).toEqual([
        400,
        'input "features": the shape needs 16 raw bytes (4 x 4) but the raw contents hold 12',
      ]);
      const extra = binaryBody(header, f32([1, 2, 3, 4]));
      expect(await refusal(send(url("/v2/models/iris/infer"), extra.body, extra.headers))).toEqual([
        400,
        "the body holds 16 bytes of binary data after the JSON header but the inputs' binary_data_size add up to 12",
      ]);
      const past = binaryBody(irisInput({}));
      const headers = { ...past.headers, "inference-header-content-length": "999" };
      expect(await refusal(send(url("/v2/models/iris/infer"), past.body, headers))).toEqual([
        400,
        `Inference-Header-Content-Length 999 is not a length within the body (${past.body.length} bytes)`,
      ]);
    });

    it("400 for a body that is not JSON, 413 past --max-request-bytes", async () => {
      expect(await refusal(send(url("/v2/models/iris/infer"), "{nope"))).toEqual([
        400,
        expect.stringMatching(/^the request body is not valid JSON: /),
      ]);
      const big = irisInput({ shape: [LIMIT, 4], data: Array(LIMIT * 4).fill(1) });
      expect(await refusal(irisInfer(big))).toEqual([
        413,
        `the request body exceeds the server's limit of ${LIMIT} bytes (--max-request-bytes)`,
      ]);
    });

    it("404 for an unknown model or version, 400 for an unknown output or a bad parameter", async () => {
      expect(await refusal(infer("/v2/models/nope/infer", irisInput({})))).toEqual([
        404,
        'model "nope" not found; models: iris, multi_io, text_echo',
      ]);
      expect(await refusal(infer("/v2/models/iris/versions/9/infer", irisInput({})))).toEqual([
        404,
        'model "iris" has no version 9; versions: 1, 2',
      ]);
      expect(await refusal(irisInfer({ ...irisInput({}), outputs: [{ name: "nope" }] }))).toEqual([
        400,
        'unknown output "nope"; the model\'s outputs are: probabilities, label',
      ]);
      const yes = { ...irisInput({}), parameters: { binary_data_output: "yes" } };
      expect(await refusal(irisInfer(yes))).toEqual([
        400,
        'request parameter "binary_data_output" must be a bool (bool_param), got yes',
      ]);
    });
  });
});

describe("OIP REST infer under --api-key", () => {
  let inferd: RunningInferd;
  beforeAll(async () => {
    inferd = await startInferd({ config: { apiKey: ["s3cret"] } });
  }, 60_000);
  afterAll(async () => {
    await inferd?.close();
  });

  it("answers 401 without the key and serves with it", async () => {
    const body = JSON.stringify({
      inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: ROWS[0] }],
    });
    const path = `${inferd.baseUrl}/v2/models/iris/infer`;
    const without = await send(path, body);
    expect(without.status).toBe(401);
    expect(without.headers.get("www-authenticate")).toBe("Bearer");
    expect(typeof errorOf(without)).toBe("string");
    const wrong = await send(path, body, { authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
    const ok = await send(path, body, { authorization: "Bearer s3cret" });
    expect(ok.status).toBe(200);
    expect(json<InferJson>(ok).outputs.map((o) => o.name)).toEqual(["probabilities", "label"]);
  });
});

describe("OIP REST infer past its deadline", () => {
  const model = createFakeModel();
  model.gate = new Promise(() => {}); // never runs: only the deadline ends the call
  let test: OipTestServer;
  beforeAll(async () => {
    test = await startOipServer(
      createFakeRegistry([{ name: "stuck", version: 1, servable: model }]),
    );
  });
  afterAll(async () => {
    await test?.server.shutdown();
  });

  it("answers 504 once the timeout parameter (microseconds) passes", async () => {
    const a = await send(
      `${test.baseUrl}/v2/models/stuck/infer`,
      JSON.stringify({
        parameters: { timeout: 100_000 },
        inputs: [{ name: "x", shape: [1, 1], datatype: "FP32", data: [1] }],
      }),
    );
    expect([a.status, errorOf(a)]).toEqual([504, "the request's deadline passed"]);
    expect(model.runs.length).toBe(1);
  });
});

describe("OIP REST infer's priority parameter", () => {
  const calls: PredictCall[] = [];
  let test: OipTestServer;
  beforeAll(async () => {
    const registry = createFakeRegistry([
      // The real registry's get() reports model.json's snake_case keys; the fake spreads this as is.
      {
        name: "affine",
        version: 1,
        servable: createAffineModel(),
        config: { priority_levels: 4 } as Partial<ModelConfig>,
      },
    ]);
    const real = createPredictor({ registry });
    test = await startOipServer(registry, {
      predict: (call, signal) => {
        calls.push(call);
        return real.predict(call, signal);
      },
    });
  });
  afterAll(async () => {
    await test?.server.shutdown();
  });

  const withPriority = (priority?: unknown) =>
    send(
      `${test.baseUrl}/v2/models/affine/infer`,
      JSON.stringify({
        ...(priority !== undefined && { parameters: { priority } }),
        inputs: [{ name: "x", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4] }],
      }),
    );

  it("reaches the predictor as inferd's priority: Triton level p of 4 becomes 4 - p", async () => {
    calls.length = 0;
    for (const priority of [1, 4, 0, undefined]) {
      expect((await withPriority(priority)).status).toBe(200);
    }
    expect(calls.map((c) => c.priority)).toEqual([3, 0, undefined, undefined]);
  });

  it.each([
    ["negative", -1, /must be an integer >= 0/],
    ["past the model's levels", 5, /is 5 but the model has 4 priority levels/],
    ["not an integer", 1.5, /must be an integer >= 0/],
    ["a string", "high", /must be an integer >= 0/],
  ])("answers 400 for a priority %s, naming the parameter", async (_what, priority, message) => {
    calls.length = 0;
    const a = await withPriority(priority);
    expect(a.status).toBe(400);
    expect(errorOf(a)).toMatch(/^request parameter "priority" /);
    expect(errorOf(a)).toMatch(message);
    expect(calls).toEqual([]);
  });
});
