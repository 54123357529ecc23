import { create, fromJson, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  InferenceService,
  type PredictRequest,
  PredictRequestSchema,
  type PredictStreamRequest,
  PredictStreamRequestSchema,
} from "../../gen/inferd/v1/inference_pb.js";
import { DataType, type Tensor } from "../../gen/inferd/v1/tensor_pb.js";
import { createPredictor } from "../../src/inference/predictor.js";
import type { Servable } from "../../src/registry/model-registry.js";
import { createInferdRoutes } from "../../src/services/routes.js";
import { connectErrorOf } from "../helpers/connect-error-of.js";
import { createAffineModel, type FakeModel } from "../helpers/fake-model.js";
import { createFakeRegistry } from "../helpers/fake-registry.js";
import { waitFor } from "../helpers/wait-for.js";

const generative: Servable = { kind: "generate", inputs: [], outputs: [], dispose: async () => {} };

function setup(model: FakeModel = createAffineModel(), maxBatchPredictItems?: number) {
  const registry = createFakeRegistry([
    { name: "affine", version: 3, servable: model },
    {
      name: "iris",
      version: 1,
      servable: model,
      config: { labels: ["setosa", "versicolor", "virginica"], topK: 2 },
    },
    { name: "llm", version: 1, servable: generative },
    { name: "warming", version: 1, servable: model, state: "loading" },
  ]);
  const predictor = createPredictor({ registry });
  const transport = createRouterTransport(
    createInferdRoutes({
      registry,
      predictor,
      ...(maxBatchPredictItems !== undefined && { maxBatchPredictItems }),
    }),
  );
  return { registry, model, client: createClient(InferenceService, transport) };
}

const xTensor = (shape: number[], floatData: number[]) => ({ shape, floatData });
type RequestInit = MessageInitShape<typeof PredictRequestSchema>;
const request = (init: RequestInit = {}): PredictRequest =>
  create(PredictRequestSchema, {
    model: "affine",
    inputs: { x: xTensor([1, 4], [1, 2, 3, 4]) },
    ...init,
  } as RequestInit);

async function codeOf(promise: Promise<unknown>): Promise<Code | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

describe("InferenceService.Predict", () => {
  it("computes y = 2x + 1 and reports the serving version", async () => {
    const { client, registry } = setup();
    const res = await client.predict(request({ requestId: "r1" }));
    expect(res.version).toBe(3);
    expect(res.model).toBe("affine");
    expect(res.requestId).toBe("r1");
    expect(res.outputs.y?.floatData).toEqual([3, 5, 7, 9]);
    expect(res.outputs.y?.shape).toEqual([1, 4]);
    expect(res.outputs.sum?.int64Data).toEqual([10n]);
    expect(res.outputs.sum?.dtype).toBe(DataType.INT64);
    expect(registry.held()).toBe(0);
  });

  it("generates a request id when empty and filters outputs", async () => {
    const { client, model } = setup();
    const res = await client.predict(request({ outputs: ["y"], priority: 7 }));
    expect(res.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(res.outputs)).toEqual(["y"]);
    expect(model.runs[0]?.options?.priority).toBe(7);
  });

  it("returns little-endian raw_data when raw_outputs is set", async () => {
    const { client } = setup();
    const res = await client.predict(request({ rawOutputs: true, outputs: ["y", "sum"] }));
    const y = res.outputs.y as Tensor;
    const view = new DataView(y.rawData.buffer, y.rawData.byteOffset, y.rawData.byteLength);
    expect([0, 4, 8, 12].map((o) => view.getFloat32(o, true))).toEqual([3, 5, 7, 9]);
    expect(y.floatData).toEqual([]);
    const sum = res.outputs.sum as Tensor;
    expect(new DataView(sum.rawData.buffer, sum.rawData.byteOffset).getBigInt64(0, true)).toBe(10n);
  });

  it("accepts the JSON form with the dtype inferred", async () => {
    const { client } = setup();
    const req = fromJson(PredictRequestSchema, {
      model: "affine",
      inputs: { x: { shape: [1, 4], floatData: [5.1, 3.5, 1.4, 0.2] } },
    });
    const res = await client.predict(req);
    const expected = [5.1, 3.5, 1.4, 0.2].map((v) => Math.fround(2 * Math.fround(v) + 1));
    expect(res.outputs.y?.floatData).toEqual(expected);
  });

  it("returns top-k labels per row", async () => {
    const { client } = setup();
    const res = await client.predict(
      request({
        model: "iris",
        inputs: { x: xTensor([2, 4], [0.1, 0.7, 0.2, 0, 0.5, 0.2, 0.3, 0]) },
      }),
    );
    expect(res.classifications.map((c) => c.top.map((t) => [t.label, t.index]))).toEqual([
      [
        ["versicolor", 1],
        ["virginica", 2],
      ],
      [
        ["setosa", 0],
        ["virginica", 2],
      ],
    ]);
    expect(res.classifications[0]?.top[0]?.score).toBeCloseTo(0.7, 6);
    const three = await client.predict(request({ model: "iris", topK: 10, outputs: ["y"] }));
    expect(three.classifications[0]?.top.map((t) => t.label)).toEqual([
      "virginica",
      "versicolor",
      "setosa",
    ]);
    expect(Object.keys(three.outputs)).toEqual(["y"]);
  });

  it.each([
    ["unknown model", request({ model: "nope" }), Code.NotFound],
    ["unknown version", request({ version: 9 }), Code.NotFound],
    ["loading model", request({ model: "warming" }), Code.Unavailable],
    ["generative model", request({ model: "llm" }), Code.FailedPrecondition],
    ["missing input", request({ inputs: {} }), Code.InvalidArgument],
    [
      "unknown input",
      request({ inputs: { x: xTensor([1, 4], [1, 2, 3, 4]), z: xTensor([1], [1]) } }),
      Code.InvalidArgument,
    ],
    ["wrong shape", request({ inputs: { x: xTensor([1, 3], [1, 2, 3]) } }), Code.InvalidArgument],
    [
      "wrong dtype",
      request({ inputs: { x: { ...xTensor([1, 4], [1, 2, 3, 4]), dtype: DataType.INT32 } } }),
      Code.InvalidArgument,
    ],
    [
      "unknown dtype",
      request({ inputs: { x: { ...xTensor([1, 4], [1, 2, 3, 4]), dtype: 99 as DataType } } }),
      Code.InvalidArgument,
    ],
    [
      "two data fields",
      request({ inputs: { x: { ...xTensor([1, 4], [1, 2, 3, 4]), intData: [1, 2, 3, 4] } } }),
      Code.InvalidArgument,
    ],
    ["unknown output", request({ outputs: ["nope"] }), Code.InvalidArgument],
  ])("%s -> its code", async (_, req, code) => {
    const { client, registry } = setup();
    expect(await codeOf(client.predict(req))).toBe(code);
    expect(registry.held()).toBe(0);
  });

  it("names the outputs when one is unknown", async () => {
    const { client } = setup();
    await expect(client.predict(request({ outputs: ["nope"] }))).rejects.toThrow(
      /"nope".*y, scores, sum/,
    );
  });

  it("maps an unexpected model failure to Internal without leaking it", async () => {
    const model = createAffineModel();
    model.run = async () => {
      throw new Error("secret onnx path /models/x.onnx");
    };
    const { client } = setup(model);
    const error = await connectErrorOf(client.predict(request()));
    expect(error?.code).toBe(Code.Internal);
    expect(error?.rawMessage).toBe("internal error (see server log)");
  });

  it("turns the caller's deadline into DeadlineExceeded", async () => {
    const model = createAffineModel();
    model.gate = new Promise(() => {});
    const { client, registry } = setup(model);
    expect(await codeOf(client.predict(request(), { timeoutMs: 50 }))).toBe(Code.DeadlineExceeded);
    expect(model.runs[0]?.signal?.aborted).toBe(true);
    expect(registry.held()).toBe(0);
  });

  it("aborts the model's signal when the client cancels", async () => {
    const model = createAffineModel();
    model.gate = new Promise(() => {});
    const { client } = setup(model);
    const controller = new AbortController();
    const pending = codeOf(client.predict(request(), { signal: controller.signal }));
    await waitFor(() => model.runs.length === 1);
    controller.abort();
    expect(await pending).toBe(Code.Canceled);
    await waitFor(() => model.runs[0]?.signal?.aborted === true);
  });
});

describe("InferenceService.BatchPredict", () => {
  it("fails only the bad item and keeps request order", async () => {
    const { client } = setup();
    const res = await client.batchPredict({
      requests: [
        request({ requestId: "a", inputs: { x: xTensor([1, 4], [1, 1, 1, 1]) } }),
        request({ requestId: "b", inputs: { x: xTensor([1, 3], [1, 1, 1]) } }),
        request({ requestId: "c", inputs: { x: xTensor([1, 4], [2, 2, 2, 2]) } }),
      ],
    });
    expect(res.results.map((r) => r.requestId)).toEqual(["a", "b", "c"]);
    expect(
      res.results[0]?.result.case === "response" &&
        res.results[0].result.value.outputs.y?.floatData,
    ).toEqual([3, 3, 3, 3]);
    expect(res.results[1]?.result.case).toBe("error");
    expect(res.results[1]?.result.case === "error" && res.results[1].result.value.code).toBe(3);
    expect(
      res.results[1]?.result.case === "error" && res.results[1].result.value.message,
    ).toContain('"x"');
    expect(
      res.results[2]?.result.case === "response" &&
        res.results[2].result.value.outputs.y?.floatData,
    ).toEqual([5, 5, 5, 5]);
  });

  it("refuses more items than --max-batch-predict-items whole, with InvalidArgument naming the flag", async () => {
    const model = createAffineModel();
    const { client } = setup(model, 3);
    const four = Array.from({ length: 4 }, () => request());
    const error = await connectErrorOf(client.batchPredict({ requests: four }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toBe(
      "BatchPredict carries 4 items, more than this server's limit of 3 (--max-batch-predict-items): split it into calls of at most 3 items, or send them on PredictStream",
    );
    expect(model.runs).toHaveLength(0);
    const three = await client.batchPredict({ requests: four.slice(1) });
    expect(three.results.map((r) => r.result.case)).toEqual(["response", "response", "response"]);
  });

  it("answers the default limit of 256 items, in order, starting them over several event-loop turns", async () => {
    const model = createAffineModel();
    const { client } = setup(model);
    let turns = 0;
    let counting = true;
    const count = () => {
      turns++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    const requests = Array.from({ length: 256 }, (_, i) =>
      request({ requestId: `r${i}`, inputs: { x: xTensor([1, 4], [i, 0, 0, 0]) } }),
    );
    const { results } = await client.batchPredict({ requests });
    counting = false;
    expect(results.map((r) => r.requestId)).toEqual(requests.map((r) => r.requestId));
    expect(
      results.map((r) =>
        r.result.case === "response" ? r.result.value.outputs.y?.floatData[0] : -1,
      ),
    ).toEqual(requests.map((_, i) => 2 * i + 1));
    // 256 items, 32 per turn: the loop turned at least 7 times while they were started.
    expect(turns).toBeGreaterThanOrEqual(7);
    const over = await connectErrorOf(client.batchPredict({ requests: [...requests, request()] }));
    expect(over.code).toBe(Code.InvalidArgument);
  });

  it("runs items concurrently", async () => {
    const model = createAffineModel();
    let open!: () => void;
    model.gate = new Promise((r) => {
      open = r;
    });
    const { client } = setup(model);
    const pending = client.batchPredict({ requests: [request(), request(), request()] });
    await waitFor(() => model.runs.length === 3);
    open();
    expect((await pending).results.every((r) => r.result.case === "response")).toBe(true);
  });
});

describe("InferenceService.PredictStream", () => {
  it("answers 1,000 messages in order, a bad one not ending the stream", async () => {
    const { client, registry } = setup();
    const count = 1000;
    async function* messages(): AsyncGenerator<PredictStreamRequest> {
      for (let i = 0; i < count; i++) {
        const inputs =
          i === 500 ? { x: xTensor([1, 2], [1, 2]) } : { x: xTensor([1, 4], [i, 0, 0, 0]) };
        yield create(PredictStreamRequestSchema, {
          request: { model: "affine", requestId: `m${i}`, inputs, outputs: ["y"] },
        });
      }
    }
    const seen: string[] = [];
    let errors = 0;
    for await (const message of client.predictStream(messages())) {
      const result = message.result;
      seen.push(result?.requestId ?? "");
      const i = seen.length - 1;
      if (result?.result.case === "error") {
        errors += 1;
        expect(i).toBe(500);
        expect(result.result.value.code).toBe(Code.InvalidArgument);
      } else {
        expect(result?.result.value?.outputs.y?.floatData[0]).toBe(2 * i + 1);
      }
    }
    expect(seen).toEqual(Array.from({ length: count }, (_, i) => `m${i}`));
    expect(errors).toBe(1);
    expect(registry.held()).toBe(0);
  });

  it("stops outstanding work when the client cancels", async () => {
    const model = createAffineModel();
    model.gate = new Promise(() => {});
    const { client } = setup(model);
    const controller = new AbortController();
    async function* messages(): AsyncGenerator<PredictStreamRequest> {
      yield create(PredictStreamRequestSchema, { request: request() });
      yield create(PredictStreamRequestSchema, { request: request() });
      await new Promise(() => {});
    }
    const consume = (async () => {
      for await (const _ of client.predictStream(messages(), { signal: controller.signal })) {
        // no response is expected before the cancel
      }
    })().catch((e: unknown) => ConnectError.from(e).code);
    await waitFor(() => model.runs.length === 2);
    controller.abort();
    expect(await consume).toBe(Code.Canceled);
    await waitFor(() => model.runs.every((r) => r.signal?.aborted === true));
  });
});
