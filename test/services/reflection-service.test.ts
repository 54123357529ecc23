import { create, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { ModelService } from "../../gen/inferd/v1/model_pb.js";
import { createReflectionService } from "../../src/services/reflection-service.js";

const transport = createRouterTransport(
  createReflectionService({ services: [InferenceService, ModelService, Health] }),
);

type Query = v1.ServerReflectionRequest["messageRequest"];

async function ask(version: typeof v1 | typeof v1alpha, queries: Query[]) {
  const client = createClient(version.ServerReflection, transport);
  async function* requests() {
    for (const messageRequest of queries) {
      yield create(version.ServerReflectionRequestSchema, { host: "h", messageRequest });
    }
  }
  const out = [];
  for await (const res of client.serverReflectionInfo(requests())) out.push(res);
  return out;
}

/** The file names in a file_descriptor_response, decoded. */
function fileNames(
  res: { messageResponse: { case: string | undefined; value?: unknown } } | undefined,
) {
  if (res?.messageResponse.case !== "fileDescriptorResponse") return [];
  const value = res.messageResponse.value as { fileDescriptorProto: Uint8Array[] };
  return value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
}

describe.each([
  ["v1", v1],
  ["v1alpha", v1alpha],
] as const)("ServerReflection %s", (_name, version) => {
  it("lists the services given plus both reflection services", async () => {
    const [res] = await ask(version, [{ case: "listServices", value: "*" }]);
    expect(res?.validHost).toBe("h");
    expect(res?.originalRequest?.messageRequest.case).toBe("listServices");
    const value = res?.messageResponse.value as { service: { name: string }[] };
    expect(value.service.map((s) => s.name).sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "inferd.v1.InferenceService",
      "inferd.v1.ModelService",
    ]);
  });

  it("finds files by symbol (service, method, message, nested enum) and by name, with WKT dependencies", async () => {
    const answers = await ask(version, [
      { case: "fileContainingSymbol", value: "inferd.v1.ModelService" },
      { case: "fileContainingSymbol", value: "inferd.v1.InferenceService.Predict" },
      { case: "fileContainingSymbol", value: "inferd.v1.Tensor" },
      { case: "fileContainingSymbol", value: "grpc.health.v1.HealthCheckResponse.ServingStatus" },
      { case: "fileByFilename", value: "google/protobuf/struct.proto" },
    ]);
    const model = fileNames(answers[0]);
    expect(model[0]).toBe("inferd/v1/model.proto");
    expect(model).toEqual(
      expect.arrayContaining([
        "inferd/v1/tensor.proto",
        "google/protobuf/struct.proto",
        "google/protobuf/timestamp.proto",
      ]),
    );
    expect(new Set(model).size).toBe(model.length);
    expect(fileNames(answers[1])[0]).toBe("inferd/v1/inference.proto");
    expect(fileNames(answers[2])).toEqual(["inferd/v1/tensor.proto"]);
    expect(fileNames(answers[3])).toEqual(["grpc/health/v1/health.proto"]);
    expect(fileNames(answers[4])).toEqual(["google/protobuf/struct.proto"]);
  });

  it("answers NOT_FOUND for unknowns and an empty extension list for known types", async () => {
    const [symbol, file, ext, extUnknown] = await ask(version, [
      { case: "fileContainingSymbol", value: "inferd.v1.Nope" },
      { case: "fileByFilename", value: "nope.proto" },
      { case: "allExtensionNumbersOfType", value: "inferd.v1.Tensor" },
      { case: "allExtensionNumbersOfType", value: "inferd.v1.Nope" },
    ]);
    for (const res of [symbol, file, extUnknown]) {
      expect(res?.messageResponse.case).toBe("errorResponse");
      expect(res?.messageResponse.value).toMatchObject({ errorCode: 5 });
    }
    expect(ext?.messageResponse.case).toBe("allExtensionNumbersResponse");
    expect(ext?.messageResponse.value).toMatchObject({
      baseTypeName: "inferd.v1.Tensor",
      extensionNumber: [],
    });
  });
});
