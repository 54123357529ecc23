import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { cp } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type HealthCheckRequest,
  HealthCheckRequestSchema,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Serving,
} from "../../gen/grpc/health/v1/health_pb.js";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { ModelService } from "../../gen/inferd/v1/model_pb.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";
import { grpcClient } from "../helpers/inferd-grpc.js";
import { IRIS_SAMPLES, irisExpected, maxAbsDiff } from "../helpers/iris-reference.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";

const BUF = resolve(dirname(fileURLToPath(import.meta.url)), "../../node_modules/.bin/buf");

let inferd: RunningInferd;
let client: grpc.Client;

// Explicit mode: iris loads at start (--load-model iris), multi_io waits for LoadModel.
beforeAll(async () => {
  inferd = await startInferd({
    models: ["iris", "multi_io"],
    config: { modelControlMode: "explicit", loadModel: ["iris"] },
  });
  client = grpcClient(inferd.port);
});
afterAll(async () => {
  client?.close();
  await inferd?.close();
});

const SERVICES = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "inferd.v1.GenerationService",
  "inferd.v1.InferenceService",
  "inferd.v1.ModelService",
  "inference.GRPCInferenceService",
];

/** list_services and file_containing_symbol over one grpc-js bidi reflection stream. */
async function reflect(
  version: typeof v1 | typeof v1alpha,
): Promise<v1.ServerReflectionResponse[]> {
  const pkg = version === v1 ? "grpc.reflection.v1" : "grpc.reflection.v1alpha";
  const call = client.makeBidiStreamRequest(
    `/${pkg}.ServerReflection/ServerReflectionInfo`,
    (m: Uint8Array) => Buffer.from(m),
    (b: Buffer) =>
      fromBinary(version.ServerReflectionResponseSchema, b) as v1.ServerReflectionResponse,
  );
  const answers: v1.ServerReflectionResponse[] = [];
  const done = new Promise<void>((res, rej) => {
    call.on("data", (r: v1.ServerReflectionResponse) => answers.push(r));
    call.on("end", res);
    call.on("error", rej);
  });
  const schema = version.ServerReflectionRequestSchema as typeof v1.ServerReflectionRequestSchema;
  const requests: v1.ServerReflectionRequest["messageRequest"][] = [
    { case: "listServices", value: "" },
    { case: "fileContainingSymbol", value: "inferd.v1.InferenceService.Predict" },
  ];
  for (const messageRequest of requests)
    call.write(toBinary(schema, create(schema, { messageRequest })));
  call.end();
  await done;
  return answers;
}

describe.each([
  ["v1", v1],
  ["v1alpha", v1alpha],
] as const)("reflection %s over grpc-js", (_name, version) => {
  it("lists every service and describes Predict's file", async () => {
    const [list, file] = await reflect(version);
    const names =
      list?.messageResponse.case === "listServicesResponse"
        ? list.messageResponse.value.service.map((s) => s.name)
        : [];
    expect([...names].sort()).toEqual(SERVICES);
    const protos =
      file?.messageResponse.case === "fileDescriptorResponse"
        ? file.messageResponse.value.fileDescriptorProto.map((b) =>
            fromBinary(FileDescriptorProtoSchema, b),
          )
        : [];
    const predict = protos[0]?.service[0]?.method.find((m) => m.name === "Predict");
    expect(protos[0]?.name).toBe("inferd/v1/inference.proto");
    expect([predict?.inputType, predict?.outputType]).toEqual([
      ".inferd.v1.PredictRequest",
      ".inferd.v1.PredictResponse",
    ]);
  });
});

describe.skipIf(!existsSync(BUF))(
  "buf curl (node_modules/.bin/buf; skipped when not installed)",
  () => {
    const bufCurl = async (...args: string[]) =>
      (
        await promisify(execFile)(BUF, [
          "curl",
          "--protocol",
          "grpc",
          "--http2-prior-knowledge",
          ...args,
        ])
      ).stdout;

    it("lists methods through reflection and calls Predict with JSON", async () => {
      const methods = (await bufCurl("--list-methods", inferd.baseUrl)).trim().split("\n");
      expect(methods).toEqual(
        expect.arrayContaining([
          "inferd.v1.InferenceService/Predict",
          "inferd.v1.ModelService/LoadModel",
          "grpc.health.v1.Health/Watch",
        ]),
      );
      const row = IRIS_SAMPLES[2] ?? [];
      const data = {
        model: "iris",
        requestId: "buf-1",
        inputs: { features: { shape: [1, 4], floatData: row } },
      };
      const out = await bufCurl(
        "-d",
        JSON.stringify(data),
        `${inferd.baseUrl}/inferd.v1.InferenceService/Predict`,
      );
      const res = JSON.parse(out) as {
        version: number;
        requestId: string;
        outputs: { probabilities: { floatData: number[] } };
        classifications: { top: { label: string }[] }[];
      };
      expect(res.requestId).toBe("buf-1");
      expect(res.version).toBe(2);
      const expected = irisExpected(2, [row]);
      expect(maxAbsDiff(res.outputs.probabilities.floatData, expected.probabilities)).toBeLessThan(
        1e-6,
      );
      expect(res.classifications[0]?.top[0]?.label).toBe("virginica");
    });
  },
);

const check = (service: string) =>
  new Promise<Serving>((res, rej) =>
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      (m: HealthCheckRequest) => Buffer.from(toBinary(HealthCheckRequestSchema, m)),
      (b: Buffer) => fromBinary(HealthCheckResponseSchema, b),
      create(HealthCheckRequestSchema, { service }),
      (error, r) => (error || !r ? rej(error) : res(r.status)),
    ),
  );

/** Health.Watch over grpc-js; `until` is called with each status and ends the watch when true. */
async function watch(
  service: string,
  onStatus: (s: Serving) => Promise<boolean>,
): Promise<Serving[]> {
  const call = client.makeServerStreamRequest(
    "/grpc.health.v1.Health/Watch",
    (m: HealthCheckRequest) => Buffer.from(toBinary(HealthCheckRequestSchema, m)),
    (b: Buffer) => fromBinary(HealthCheckResponseSchema, b),
    create(HealthCheckRequestSchema, { service }),
  );
  const seen: Serving[] = [];
  call.on("error", () => {});
  for await (const r of call as AsyncIterable<HealthCheckResponse>) {
    seen.push(r.status);
    if (await onStatus(r.status)) break;
  }
  call.cancel();
  return seen;
}

describe("grpc.health.v1 over grpc-js", () => {
  it("Check answers SERVING for the server and for iris, NOT_FOUND for an unknown model", async () => {
    expect(await check("")).toBe(Serving.SERVING);
    expect(await check("iris")).toBe(Serving.SERVING);
    expect(await check("multi_io")).toBe(Serving.NOT_SERVING);
    const error = await check("nope").then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(error?.code).toBe(grpc.status.NOT_FOUND);
  });

  it("Watch of an unloaded model goes NOT_SERVING -> SERVING after LoadModel", async () => {
    const models = createClient(
      ModelService,
      createConnectTransport({ baseUrl: inferd.baseUrl, httpVersion: "1.1" }),
    );
    const seen = await watch("multi_io", async (status) => {
      if (status === Serving.NOT_SERVING) await models.loadModel({ name: "multi_io" });
      return status === Serving.SERVING;
    });
    expect(seen).toEqual([Serving.NOT_SERVING, Serving.SERVING]);
  });

  it("Watch of a model not yet in the repository goes SERVICE_UNKNOWN -> SERVING once added and loaded", async () => {
    const models = createClient(
      ModelService,
      createConnectTransport({ baseUrl: inferd.baseUrl, httpVersion: "1.1" }),
    );
    const seen = await watch("iris_late", async (status) => {
      if (status === Serving.SERVICE_UNKNOWN) {
        await cp(join(FIXTURE_REPO, "iris"), join(inferd.repo, "iris_late"), { recursive: true });
        await models.loadModel({ name: "iris_late" });
      }
      return status === Serving.SERVING;
    });
    expect(seen[0]).toBe(Serving.SERVICE_UNKNOWN);
    expect(seen.at(-1)).toBe(Serving.SERVING);
    expect(seen.filter((s) => s === Serving.SERVING)).toHaveLength(1);
  });
});
