import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  type PredictRequest,
  PredictRequestSchema,
  type PredictResponse,
  PredictResponseSchema,
} from "../../gen/inferd/v1/inference_pb.js";

/** The InferenceService path prefix as grpc-js needs it. */
export const INFERENCE_SERVICE = "/inferd.v1.InferenceService";

/** A grpc-js client (h2c with prior knowledge) on 127.0.0.1:`port`. */
export function grpcClient(port: number): grpc.Client {
  return new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

/**
 * One Predict through grpc-js, protobuf-es doing the (de)serialising: the path a
 * client of any other gRPC stack takes. Rejects with grpc-js's ServiceError.
 */
export function grpcPredict(
  client: grpc.Client,
  request: MessageInitShape<typeof PredictRequestSchema>,
  options: grpc.CallOptions = {},
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<PredictResponse> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `${INFERENCE_SERVICE}/Predict`,
      (value: PredictRequest) => Buffer.from(toBinary(PredictRequestSchema, value)),
      (bytes: Buffer) => fromBinary(PredictResponseSchema, bytes),
      create(PredictRequestSchema, request),
      metadata,
      options,
      (error, response) => (error || !response ? reject(error) : resolve(response)),
    );
  });
}

/** The ServiceError a grpc-js call failed with; throws if it succeeded. */
export async function grpcFailure(call: Promise<unknown>): Promise<grpc.ServiceError> {
  const outcome = await call.then(
    () => undefined,
    (error: grpc.ServiceError) => error,
  );
  if (outcome === undefined) throw new Error("expected the gRPC call to fail, it succeeded");
  return outcome;
}
