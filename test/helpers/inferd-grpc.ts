import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
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

/**
 * Any unary call through grpc-js, protobuf-es (de)serialising: `path` is
 * "/package.Service/Method". Rejects with grpc-js's ServiceError.
 */
export function grpcUnary<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  path: string,
  schemas: { readonly input: I; readonly output: O },
  request: MessageInitShape<I>,
): Promise<MessageShape<O>> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (value: MessageShape<I>) => Buffer.from(toBinary(schemas.input, value)),
      (bytes: Buffer) => fromBinary(schemas.output, bytes),
      create(schemas.input, request),
      new grpc.Metadata(),
      {},
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
