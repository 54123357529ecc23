import { create, toBinary } from "@bufbuild/protobuf";
import { ModelInferRequestSchema } from "../gen/inference/grpc_service_pb.js";
import type { BenchModel } from "./bench-repository.js";
import { grpcFrame, runH2loadRequest } from "./h2load-run.js";
import { benchRow } from "./in-process-limit.js";
import type { LoadResult, LoadRunOptions } from "./load-run.js";

/**
 * The Open Inference Protocol request a Triton client sends for the row Predict's
 * bench request carries: one FP32 input of shape [1, width] in
 * `raw_input_contents` (little-endian bytes, no typed contents), no requested
 * outputs (every output, raw, as raw inputs imply), no id. Same model, same row.
 */
export function modelInferRequestBytes(model: BenchModel): Uint8Array {
  const row = new Float32Array(benchRow(model.rowWidth));
  const request = create(ModelInferRequestSchema, {
    modelName: model.name,
    inputs: [{ name: model.input, datatype: "FP32", shape: [1n, BigInt(model.rowWidth)] }],
    rawInputContents: [new Uint8Array(row.buffer)],
  });
  return toBinary(ModelInferRequestSchema, request);
}

/**
 * Closed-loop unary ModelInfer (raw contents) over h2c with h2load, as
 * `runH2load` drives Predict: same connections, streams and durations, so the
 * two rows of one run compare the protocols and nothing else.
 */
export function runH2loadModelInfer(options: LoadRunOptions): Promise<LoadResult> {
  return runH2loadRequest({
    ...options,
    path: "/inference.GRPCInferenceService/ModelInfer",
    headers: ["content-type: application/grpc", "te: trailers"],
    body: grpcFrame(modelInferRequestBytes(options.model)),
  });
}
