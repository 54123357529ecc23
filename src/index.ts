/**
 * The `inferd` package entry: the typed client SDK plus the generated message
 * schemas and service descriptors of `proto/inferd/v1`, so that a TypeScript user
 * can build requests (`create(PredictRequestSchema, ...)`) and call the server
 * with one import. The server itself is the `inferd` binary (src/cli/main.ts).
 */

export * from "../gen/inferd/v1/generation_pb.js";
export * from "../gen/inferd/v1/inference_pb.js";
export * from "../gen/inferd/v1/model_pb.js";
export * from "../gen/inferd/v1/tensor_pb.js";
export {
  createInferdClient,
  type InferdClient,
  type InferdClientCommonOptions,
  type InferdClientOptions,
  type InferdProtocol,
} from "./client/create-inferd-client.js";
