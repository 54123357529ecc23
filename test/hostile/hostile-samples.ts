import type { MessageInitShape } from "@bufbuild/protobuf";
import { GenerateRequestSchema } from "../../gen/inferd/v1/generation_pb.js";
import { PredictRequestSchema } from "../../gen/inferd/v1/inference_pb.js";
import { DataType } from "../../gen/inferd/v1/tensor_pb.js";
import { ModelInferRequestSchema } from "../../gen/inference/grpc_service_pb.js";
import { pb } from "./hostile-row.js";

/**
 * Valid requests the hostile table and the fuzz start from, against a server holding
 * the fixture models `iris` (input `features`, FP32 [-1, 4]) and `tiny_llama`.
 */
export const IRIS_ROW = [5.1, 3.5, 1.4, 0.2];

export const PATHS = {
  predict: "/inferd.v1.InferenceService/Predict",
  batchPredict: "/inferd.v1.InferenceService/BatchPredict",
  predictStream: "/inferd.v1.InferenceService/PredictStream",
  generate: "/inferd.v1.GenerationService/Generate",
  tokenize: "/inferd.v1.GenerationService/Tokenize",
  getModel: "/inferd.v1.ModelService/GetModel",
  loadModel: "/inferd.v1.ModelService/LoadModel",
  unloadModel: "/inferd.v1.ModelService/UnloadModel",
  watchModels: "/inferd.v1.ModelService/WatchModels",
  healthCheck: "/grpc.health.v1.Health/Check",
  modelInfer: "/inference.GRPCInferenceService/ModelInfer",
  modelMetadata: "/inference.GRPCInferenceService/ModelMetadata",
  modelReady: "/inference.GRPCInferenceService/ModelReady",
  modelStatistics: "/inference.GRPCInferenceService/ModelStatistics",
} as const;

/** A PredictRequest of one Iris row, with `init` over it. */
export function predict(init: MessageInitShape<typeof PredictRequestSchema> = {}): Uint8Array {
  return pb(PredictRequestSchema, {
    model: "iris",
    inputs: { features: { dtype: DataType.FLOAT32, shape: [1, 4], floatData: IRIS_ROW } },
    ...init,
  });
}

/** The Connect JSON of a one-row Iris Predict, with `over` spread over it. */
export function predictJson(over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    model: "iris",
    inputs: { features: { dtype: "DATA_TYPE_FLOAT32", shape: [1, 4], floatData: IRIS_ROW } },
    ...over,
  });
}

/** One Iris tensor in Connect JSON with `over` spread over the tensor. */
export function irisTensorJson(over: Record<string, unknown>): string {
  const features = { dtype: "DATA_TYPE_FLOAT32", shape: [1, 4], floatData: IRIS_ROW, ...over };
  return JSON.stringify({ model: "iris", inputs: { features } });
}

/** A GenerateRequest for tiny_llama of two tokens, with `init` over it. */
export function generate(init: MessageInitShape<typeof GenerateRequestSchema> = {}): Uint8Array {
  return pb(GenerateRequestSchema, { model: "tiny_llama", prompt: "hi", maxTokens: 2, ...init });
}

type InferInit = MessageInitShape<typeof ModelInferRequestSchema>;

/** An OIP ModelInferRequest of one Iris row (typed contents), with `init` over it. */
export function modelInfer(init: InferInit = {}): Uint8Array {
  return pb(ModelInferRequestSchema, {
    modelName: "iris",
    inputs: [
      {
        name: "features",
        datatype: "FP32",
        shape: [1n, 4n],
        contents: { fp32Contents: IRIS_ROW },
      },
    ],
    ...init,
  });
}

/** An OIP input tensor named `features` with `over` spread over it. */
export function oipInput(over: Record<string, unknown>): NonNullable<InferInit["inputs"]> {
  return [{ name: "features", datatype: "FP32", shape: [1n, 4n], ...over }];
}

/** The little-endian float32 bytes of `values` (a raw_input_contents entry). */
export function f32le(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
