import type { DescMethod } from "@bufbuild/protobuf";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";
import { GRPCInferenceService } from "../../gen/inference/grpc_service_pb.js";

/**
 * The methods whose big request bodies the codec worker decodes (and whose big answers it encodes), by request path: the
 * Predict family, inferd's and the Open Inference Protocol's, whose bodies carry tensors.
 * Every other method's body decodes inline whatever its size.
 */
export const DECODED_METHODS: ReadonlyMap<string, DescMethod> = new Map(
  [InferenceService, GRPCInferenceService].flatMap((service) =>
    service.methods.map((method): [string, DescMethod] => [
      `/${service.typeName}/${method.name}`,
      method,
    ]),
  ),
);
