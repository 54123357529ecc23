import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PredictRequestSchema } from "../../gen/inferd/v1/inference_pb.js";
import {
  ModelInferRequestSchema,
  ModelInferResponseSchema,
  ModelStreamInferResponseSchema,
} from "../../gen/inference/grpc_service_pb.js";
import { fieldsOfMessage } from "../../src/observed-call/call-fields.js";

describe("fieldsOfMessage", () => {
  it("reads inferd.v1's model, version and request id", () => {
    const message = create(PredictRequestSchema, { model: "iris", version: 2, requestId: "r1" });
    expect(fieldsOfMessage(message)).toEqual({ model: "iris", version: 2, requestId: "r1" });
    expect(fieldsOfMessage(create(PredictRequestSchema, { model: "iris" }))).toEqual({
      model: "iris",
    });
  });

  it("reads the Open Inference Protocol's model_name, model_version (a string) and id", () => {
    const request = create(ModelInferRequestSchema, {
      modelName: "iris",
      modelVersion: "2",
      id: "oip-1",
    });
    expect(fieldsOfMessage(request)).toEqual({ model: "iris", version: 2, requestId: "oip-1" });
    // "" (the routing policy's choice) and a version that is no number leave the version out.
    for (const modelVersion of ["", "two", "0"]) {
      expect(
        fieldsOfMessage(create(ModelInferRequestSchema, { modelName: "m", modelVersion })),
      ).toEqual({
        model: "m",
      });
    }
  });

  it("reads a ModelStreamInferResponse's nested infer_response", () => {
    const inferResponse = create(ModelInferResponseSchema, {
      modelName: "iris",
      modelVersion: "1",
      id: "s2",
    });
    const message = create(ModelStreamInferResponseSchema, { inferResponse });
    expect(fieldsOfMessage(message)).toEqual({ model: "iris", version: 1, requestId: "s2" });
  });
});
