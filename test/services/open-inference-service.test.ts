import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PredictResponse } from "../../gen/inferd/v1/inference_pb.js";
import {
  type ModelInferRequest,
  ModelInferRequestSchema,
  type ModelInferResponse,
  ModelInferResponseSchema,
  ModelMetadataRequestSchema,
  ModelMetadataResponseSchema,
  ModelReadyRequestSchema,
  ModelReadyResponseSchema,
  type ModelStreamInferResponse,
  ModelStreamInferResponseSchema,
  RepositoryIndexRequestSchema,
  RepositoryIndexResponseSchema,
  RepositoryModelLoadRequestSchema,
  RepositoryModelLoadResponseSchema,
  RepositoryModelUnloadRequestSchema,
  RepositoryModelUnloadResponseSchema,
  ServerMetadataRequestSchema,
  ServerMetadataResponseSchema,
  ServerReadyRequestSchema,
  ServerReadyResponseSchema,
} from "../../gen/inference/grpc_service_pb.js";
import type { PredictCall } from "../../src/inference/predictor.js";
import { createPredictor } from "../../src/inference/predictor.js";
import type { ModelConfig } from "../../src/registry/model-config.js";
import { createAffineModel, createFakeModel } from "../helpers/fake-model.js";
import { createFakeRegistry } from "../helpers/fake-registry.js";
import { grpcClient, grpcFailure, grpcPredict } from "../helpers/inferd-grpc.js";
import { IRIS_SAMPLES } from "../helpers/iris-reference.js";
import { callWithServerDeadline } from "../helpers/server-deadline-call.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";
import { type OipTestServer, startOipServer } from "../helpers/start-oip-server.js";

const SERVICE = "/inference.GRPCInferenceService";

/** One unary OIP call through grpc-js, protobuf-es (de)serialising: what any gRPC stack sends. */
function unary<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: string,
  input: I,
  output: O,
  request: MessageInitShape<I>,
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<MessageShape<O>> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `${SERVICE}/${method}`,
      (value: MessageShape<I>) => Buffer.from(toBinary(input, value)),
      (bytes: Buffer) => fromBinary(output, bytes),
      create(input, request),
      metadata,
      {},
      (error, response) => (error || !response ? reject(error) : resolve(response)),
    );
  });
}

type InferInit = MessageInitShape<typeof ModelInferRequestSchema>;
const infer = (client: grpc.Client, request: InferInit, metadata?: grpc.Metadata) =>
  unary(client, "ModelInfer", ModelInferRequestSchema, ModelInferResponseSchema, request, metadata);

const f32Bytes = (values: readonly number[]) => new Uint8Array(Float32Array.from(values).buffer);
const i64Bytes = (values: readonly bigint[]) => new Uint8Array(BigInt64Array.from(values).buffer);

/** The little-endian bytes Predict answered for `name` (float32 or int64): the bit-for-bit reference. */
function predictBytes(res: PredictResponse, name: string): Uint8Array {
  const t = res.outputs[name];
  return t?.int64Data.length ? i64Bytes(t.int64Data) : f32Bytes(t?.floatData ?? []);
}
function typedBytes(res: ModelInferResponse, name: string): Uint8Array {
  const c = res.outputs.find((o) => o.name === name)?.contents;
  return c?.int64Contents.length ? i64Bytes(c.int64Contents) : f32Bytes(c?.fp32Contents ?? []);
}
function rawBytes(res: ModelInferResponse, name: string): Uint8Array {
  const i = res.outputs.findIndex((o) => o.name === name);
  return new Uint8Array(res.rawOutputContents[i] ?? []);
}

const IRIS_ROWS = IRIS_SAMPLES.flat();
const irisTyped: InferInit = {
  modelName: "iris",
  modelVersion: "2",
  id: "iris-1",
  inputs: [
    { name: "features", datatype: "FP32", shape: [3n, 4n], contents: { fp32Contents: IRIS_ROWS } },
  ],
};
const irisRaw: InferInit = {
  ...irisTyped,
  inputs: [{ name: "features", datatype: "FP32", shape: [3n, 4n] }],
  rawInputContents: [f32Bytes(IRIS_ROWS)],
};

const LIMIT = 64 * 1024;
/** Iris with 5000 rows: about 80 kB, over {@link LIMIT}. */
const irisOversize: InferInit = {
  ...irisTyped,
  inputs: [
    {
      name: "features",
      datatype: "FP32",
      shape: [5000n, 4n],
      contents: { fp32Contents: new Array<number>(20_000).fill(1.5) },
    },
  ],
};

/** A bidi ModelStreamInfer call writing `requests`: its answers, and the error it ended with if any. */
async function streamInfer(client: grpc.Client, requests: readonly InferInit[]) {
  const call = client.makeBidiStreamRequest(
    `${SERVICE}/ModelStreamInfer`,
    (value: ModelInferRequest) => Buffer.from(toBinary(ModelInferRequestSchema, value)),
    (bytes: Buffer) => fromBinary(ModelStreamInferResponseSchema, bytes),
  );
  const answers: ModelStreamInferResponse[] = [];
  const error = await new Promise<grpc.ServiceError | undefined>((resolve) => {
    call.on("data", (r: ModelStreamInferResponse) => answers.push(r));
    call.on("end", () => resolve(undefined));
    call.on("error", resolve);
    for (const r of requests) call.write(create(ModelInferRequestSchema, r));
    call.end();
  });
  return { answers, error };
}

const A = [-2, -1.5, -1, -0.5, 0, 0.5];
const B = [1.25, 0.5, -0.25, -1, -1.75, -2.5];
const K = [-2n, 1n];

describe("GRPCInferenceService on the production server", () => {
  let inferd: RunningInferd;
  let client: grpc.Client;
  beforeAll(async () => {
    inferd = await startInferd({
      models: ["iris", "multi_io"],
      config: { maxRequestBytes: LIMIT },
    });
    client = grpcClient(inferd.port);
  });
  afterAll(async () => {
    client?.close();
    await inferd?.close();
  });

  it("answers Iris typed and raw with Predict's outputs bit for bit, id and version echoed", async () => {
    const predict = await grpcPredict(client, {
      model: "iris",
      version: 2,
      inputs: { features: { shape: [3, 4], floatData: IRIS_ROWS } },
    });
    const names = Object.keys(predict.outputs);
    const typed = await infer(client, irisTyped);
    expect(typed).toMatchObject({ modelName: "iris", modelVersion: "2", id: "iris-1" });
    expect(typed.outputs.map((o) => o.name)).toEqual(names);
    expect(typed.rawOutputContents).toEqual([]);
    const raw = await infer(client, irisRaw);
    expect(raw.outputs.every((o) => o.contents === undefined)).toBe(true);
    for (const name of names) {
      expect(typedBytes(typed, name)).toEqual(predictBytes(predict, name));
      expect(rawBytes(raw, name)).toEqual(predictBytes(predict, name));
    }
    expect(typed.outputs[0]).toMatchObject({ datatype: "FP32", shape: [3n, 3n] });
  });

  it("answers multi_io typed and raw with Predict's outputs, and filters requested outputs", async () => {
    const predict = await grpcPredict(client, {
      model: "multi_io",
      inputs: {
        a: { shape: [2, 3], floatData: A },
        b: { shape: [2, 3], floatData: B },
        k: { shape: [2, 1], int64Data: K },
      },
    });
    const typed = await infer(client, {
      modelName: "multi_io",
      inputs: [
        { name: "a", datatype: "FP32", shape: [2n, 3n], contents: { fp32Contents: A } },
        { name: "b", datatype: "FP32", shape: [2n, 3n], contents: { fp32Contents: B } },
        { name: "k", datatype: "INT64", shape: [2n, 1n], contents: { int64Contents: K } },
      ],
    });
    const raw = await infer(client, {
      modelName: "multi_io",
      inputs: [
        { name: "a", datatype: "FP32", shape: [2n, 3n] },
        { name: "b", datatype: "FP32", shape: [2n, 3n] },
        { name: "k", datatype: "INT64", shape: [2n, 1n] },
      ],
      outputs: [{ name: "dot" }, { name: "sum" }],
      rawInputContents: [f32Bytes(A), f32Bytes(B), i64Bytes(K)],
    });
    for (const name of ["sum", "scaled", "dot"]) {
      expect(typedBytes(typed, name)).toEqual(predictBytes(predict, name));
    }
    expect(raw.outputs.map((o) => o.name)).toEqual(["dot", "sum"]);
    expect(rawBytes(raw, "dot")).toEqual(predictBytes(predict, "dot"));
    expect(rawBytes(raw, "sum")).toEqual(predictBytes(predict, "sum"));
  });

  it("returns the classification parameter's top-n as BYTES score:index:label", async () => {
    const meta = await unary(
      client,
      "ModelMetadata",
      ModelMetadataRequestSchema,
      ModelMetadataResponseSchema,
      {
        name: "iris",
      },
    );
    const output = meta.outputs[0]?.name ?? "";
    const predict = await grpcPredict(client, {
      model: "iris",
      version: 2,
      topK: 2,
      inputs: { features: { shape: [3, 4], floatData: IRIS_ROWS } },
    });
    const res = await infer(client, {
      ...irisTyped,
      outputs: [
        {
          name: output,
          parameters: { classification: { parameterChoice: { case: "int64Param", value: 2n } } },
        },
      ],
    });
    expect(res.outputs[0]).toMatchObject({ name: output, datatype: "BYTES", shape: [3n, 2n] });
    const strings = (res.outputs[0]?.contents?.bytesContents ?? []).map((b) =>
      Buffer.from(b).toString(),
    );
    const expected = predict.classifications.flatMap((c) =>
      c.top.map((t) => `:${t.index}:${t.label}`),
    );
    expect(strings.map((s) => s.slice(s.indexOf(":")))).toEqual(expected);
  });

  it("refuses bad requests with the exact codes", async () => {
    const code = async (request: InferInit) => (await grpcFailure(infer(client, request))).code;
    expect(await code({ ...irisTyped, modelName: "nope" })).toBe(grpc.status.NOT_FOUND);
    expect(await code({ ...irisTyped, modelVersion: "7" })).toBe(grpc.status.NOT_FOUND);
    expect(await code({ ...irisTyped, modelVersion: "two" })).toBe(grpc.status.INVALID_ARGUMENT);
    const fp64 = {
      name: "features",
      datatype: "FP64",
      shape: [3n, 4n],
      contents: { fp64Contents: IRIS_ROWS },
    };
    expect(await code({ ...irisTyped, inputs: [fp64] })).toBe(grpc.status.INVALID_ARGUMENT);
    const shape = {
      name: "features",
      datatype: "FP32",
      shape: [4n, 3n],
      contents: { fp32Contents: IRIS_ROWS },
    };
    expect(await code({ ...irisTyped, inputs: [shape] })).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await code({ ...irisRaw, rawInputContents: [f32Bytes(IRIS_ROWS).subarray(1)] })).toBe(
      grpc.status.INVALID_ARGUMENT,
    );
    const mixed = await grpcFailure(infer(client, { ...irisRaw, inputs: irisTyped.inputs ?? [] }));
    expect(mixed.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(mixed.details).toMatch(/when any input uses raw_input_contents, all must/);
  });

  it("names the protocol's datatypes when an input's datatype is not the model's", async () => {
    const int32 = {
      name: "features",
      datatype: "INT32",
      shape: [3n, 4n],
      contents: { intContents: IRIS_ROWS.map(Math.round) },
    };
    const e = await grpcFailure(infer(client, { ...irisTyped, inputs: [int32] }));
    expect([e.code, e.details]).toEqual([
      grpc.status.INVALID_ARGUMENT,
      'input "features": datatype INT32 does not match the model\'s FP32',
    ]);
  });

  it("refuses a ModelInfer over --max-request-bytes RESOURCE_EXHAUSTED, naming the flag", async () => {
    const e = await grpcFailure(infer(client, irisOversize));
    expect(e.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(e.details).toMatch(
      new RegExp(
        `^message size \\d+ is larger than the server's limit of ${LIMIT} bytes \\(--max-request-bytes\\)$`,
      ),
    );
    expect((await infer(client, irisTyped)).id).toBe("iris-1");
  });

  it("ends a ModelStreamInfer with an oversize message RESOURCE_EXHAUSTED, naming the flag", async () => {
    const { error } = await streamInfer(client, [{ ...irisTyped, id: "s1" }, irisOversize]);
    expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(error?.details).toContain(
      `than the server's limit of ${LIMIT} bytes (--max-request-bytes)`,
    );
  });

  it("answers every ModelStreamInfer message, a bad middle one with error_message and its id", async () => {
    const { answers, error } = await streamInfer(client, [
      { ...irisTyped, id: "s1" },
      { ...irisTyped, id: "s2", modelName: "nope" },
      { ...irisRaw, id: "s3" },
    ]);
    expect(error).toBeUndefined();
    const byId = new Map(answers.map((a) => [a.inferResponse?.id, a]));
    expect([...byId.keys()].sort()).toEqual(["s1", "s2", "s3"]);
    expect(byId.get("s2")?.errorMessage).toMatch(/nope/);
    expect(byId.get("s1")?.errorMessage).toBe("");
    expect(byId.get("s3")?.inferResponse?.rawOutputContents.length).toBeGreaterThan(0);
  });

  it("reports server and model metadata and readiness", async () => {
    const server = await unary(
      client,
      "ServerMetadata",
      ServerMetadataRequestSchema,
      ServerMetadataResponseSchema,
      {},
    );
    expect(server.name).toBe("inferd");
    expect(server.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(server.extensions).toContain("classification");
    const ready = await unary(
      client,
      "ServerReady",
      ServerReadyRequestSchema,
      ServerReadyResponseSchema,
      {},
    );
    expect(ready.ready).toBe(true);
    const model = (name: string, version = "") =>
      unary(client, "ModelReady", ModelReadyRequestSchema, ModelReadyResponseSchema, {
        name,
        version,
      });
    expect([
      (await model("iris")).ready,
      (await model("iris", "2")).ready,
      (await model("nope")).ready,
    ]).toEqual([true, true, false]);
    const meta = await unary(
      client,
      "ModelMetadata",
      ModelMetadataRequestSchema,
      ModelMetadataResponseSchema,
      {
        name: "multi_io",
      },
    );
    expect(meta.platform).toBe("onnxruntime_onnx");
    expect(meta.inputs.map((i) => [i.name, i.datatype, i.shape.map(Number)])).toEqual([
      ["a", "FP32", [-1, 3]],
      ["b", "FP32", [-1, 3]],
      ["k", "INT64", [-1, 1]],
    ]);
  });

  it("indexes the repository and unloads then loads a model", async () => {
    const index = () =>
      unary(
        client,
        "RepositoryIndex",
        RepositoryIndexRequestSchema,
        RepositoryIndexResponseSchema,
        { ready: true },
      );
    expect((await index()).models.map((m) => `${m.name}/${m.version}:${m.state}`)).toContain(
      "multi_io/1:READY",
    );
    await unary(
      client,
      "RepositoryModelUnload",
      RepositoryModelUnloadRequestSchema,
      RepositoryModelUnloadResponseSchema,
      {
        modelName: "multi_io",
      },
    );
    expect((await index()).models.some((m) => m.name === "multi_io")).toBe(false);
    await unary(
      client,
      "RepositoryModelLoad",
      RepositoryModelLoadRequestSchema,
      RepositoryModelLoadResponseSchema,
      {
        modelName: "multi_io",
      },
    );
    expect((await index()).models.map((m) => `${m.name}/${m.version}:${m.state}`)).toContain(
      "multi_io/1:READY",
    );
  });
});

describe("GRPCInferenceService behind --api-key", () => {
  let inferd: RunningInferd;
  let client: grpc.Client;
  beforeAll(async () => {
    inferd = await startInferd({ config: { apiKey: ["k1"] } });
    client = grpcClient(inferd.port);
  });
  afterAll(async () => {
    client?.close();
    await inferd?.close();
  });

  it("refuses ModelInfer without the key and serves it with the key", async () => {
    expect((await grpcFailure(infer(client, irisTyped))).code).toBe(grpc.status.UNAUTHENTICATED);
    const metadata = new grpc.Metadata();
    metadata.set("authorization", "Bearer k1");
    expect((await infer(client, irisTyped, metadata)).id).toBe("iris-1");
  });
});

/** A ModelInfer of one row for the fake models' input "x" [batch, width]. */
type InferParameters = NonNullable<MessageInitShape<typeof ModelInferRequestSchema>["parameters"]>;
const xRequest = (model: string, width: number, parameters: InferParameters = {}): InferInit => ({
  modelName: model,
  parameters,
  inputs: [
    {
      name: "x",
      datatype: "FP32",
      shape: [1n, BigInt(width)],
      contents: { fp32Contents: Array.from({ length: width }, (_, i) => i + 1) },
    },
  ],
});

describe("ModelInfer past its deadline", () => {
  const model = createFakeModel();
  model.gate = new Promise(() => {}); // never runs: only a deadline ends the call
  let test: OipTestServer;
  let client: grpc.Client;
  beforeAll(async () => {
    test = await startOipServer(
      createFakeRegistry([{ name: "stuck", version: 1, servable: model }]),
    );
    client = grpcClient(test.port);
  });
  afterAll(async () => {
    client?.close();
    await test?.server.shutdown();
  });

  it("ends DEADLINE_EXCEEDED when grpc-timeout passes while the model runs", async () => {
    const runs = model.runs.length;
    const request = toBinary(
      ModelInferRequestSchema,
      create(ModelInferRequestSchema, xRequest("stuck", 1)),
    );
    const path = `${SERVICE}/ModelInfer`;
    // Only the server enforces this deadline: the status read is the server's own.
    const end = await callWithServerDeadline(
      test.port,
      "grpc",
      { path, request, stream: false },
      300,
    );
    expect(end.name).toBe("DeadlineExceeded");
    expect(model.runs.length).toBe(runs + 1);
  });

  it("ends DEADLINE_EXCEEDED when the timeout parameter (microseconds) passes", async () => {
    const runs = model.runs.length;
    const timeout = { parameterChoice: { case: "int64Param", value: 100_000n } } as const;
    const e = await grpcFailure(infer(client, xRequest("stuck", 1, { timeout })));
    expect([e.code, e.details]).toEqual([
      grpc.status.DEADLINE_EXCEEDED,
      "the request's deadline passed",
    ]);
    expect(model.runs.length).toBe(runs + 1);
  });
});

describe("ModelInfer's priority parameter", () => {
  const calls: PredictCall[] = [];
  let test: OipTestServer;
  let client: grpc.Client;
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
    client = grpcClient(test.port);
  });
  afterAll(async () => {
    client?.close();
    await test?.server.shutdown();
  });

  type Choice = NonNullable<InferParameters[string]["parameterChoice"]>;
  const withPriority = (parameterChoice: Choice) =>
    xRequest("affine", 4, { priority: { parameterChoice } });

  it("reaches the predictor as inferd's priority: Triton level p of 4 becomes 4 - p", async () => {
    calls.length = 0;
    await infer(client, withPriority({ case: "int64Param", value: 1n }));
    await infer(client, withPriority({ case: "uint64Param", value: 4n }));
    await infer(client, withPriority({ case: "int64Param", value: 0n }));
    await infer(client, xRequest("affine", 4));
    expect(calls.map((c) => c.priority)).toEqual([3, 0, undefined, undefined]);
  });

  it.each([
    ["negative", { case: "int64Param", value: -1n }, /must be an integer >= 0/],
    [
      "past the model's levels",
      { case: "int64Param", value: 5n },
      /is 5 but the model has 4 priority levels/,
    ],
    ["not an integer", { case: "doubleParam", value: 1.5 }, /must be an integer >= 0/],
    ["a string", { case: "stringParam", value: "high" }, /must be an integer >= 0/],
  ] as const)(
    "refuses a priority %s INVALID_ARGUMENT naming the parameter",
    async (_what, choice, message) => {
      calls.length = 0;
      const e = await grpcFailure(infer(client, withPriority(choice)));
      expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(e.details).toMatch(/^request parameter "priority" /);
      expect(e.details).toMatch(message);
      expect(calls).toEqual([]);
    },
  );
});
