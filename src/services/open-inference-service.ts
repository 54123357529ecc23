import { setMaxListeners } from "node:events";
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  type GRPCInferenceService,
  type ModelInferRequest,
  type ModelInferResponse,
  ModelInferResponseSchema,
  ModelMetadataResponse_TensorMetadataSchema,
  type ModelStreamInferResponse,
  ModelStreamInferResponseSchema,
} from "../../gen/inference/grpc_service_pb.js";
import type { OipTensorMetadata, OpenInference } from "../open-inference/open-inference.js";
import { linkDomainSignal, toDomainSignal } from "./domain-signal.js";
import { mapOrdered } from "./map-ordered.js";
import { decodeInferRequest, encodeInferResponse } from "./oip-grpc-codec.js";
import { encodeModelConfig, encodeModelStatistics } from "./oip-model-codec.js";
import { type ErrorLogger, toConnectError } from "./to-connect-error.js";

/** What ServerMetadata reports beside the protocol's own operations. */
export const OIP_EXTENSIONS: readonly string[] = [
  "classification",
  "model_repository",
  "statistics",
  "model_configuration",
];

/** Options of {@link createOpenInferenceService}. */
export interface OpenInferenceServiceOptions {
  readonly core: OpenInference;
  /** ServerMetadata's version (inferd's package version). */
  readonly serverVersion: string;
  readonly logger?: ErrorLogger;
  /** ModelStreamInfer messages in flight at once per stream (default 64). */
  readonly streamConcurrency?: number;
}

const tensorMetadata = (t: OipTensorMetadata) =>
  create(ModelMetadataResponse_TensorMetadataSchema, {
    name: t.name,
    datatype: t.datatype,
    shape: t.shape.map(BigInt),
  });

/**
 * Connect handlers for the Open Inference Protocol's `inference.GRPCInferenceService`
 * over the protocol-neutral {@link OpenInference} core. They throw domain errors:
 * mount with `withErrorMapping` (as `createInferdRoutes` does). ModelStreamInfer
 * answers each message on its own: a failed one gets `error_message` (and its `id`),
 * the stream goes on.
 */
export function createOpenInferenceService(
  options: OpenInferenceServiceOptions,
): Partial<ServiceImpl<typeof GRPCInferenceService>> {
  const { core, logger } = options;
  const concurrency = options.streamConcurrency ?? 64;

  async function infer(request: ModelInferRequest, context: HandlerContext, signal: AbortSignal) {
    const result = await core.infer(decodeInferRequest(request), signal, context.timeoutMs());
    return encodeInferResponse(result);
  }

  async function inferOne(
    request: ModelInferRequest,
    context: HandlerContext,
    signal: AbortSignal,
  ): Promise<ModelStreamInferResponse> {
    try {
      const inferResponse = await infer(request, context, signal);
      return create(ModelStreamInferResponseSchema, { inferResponse });
    } catch (error) {
      const inferResponse: ModelInferResponse = create(ModelInferResponseSchema, {
        modelName: request.modelName,
        modelVersion: request.modelVersion,
        id: request.id,
      });
      const errorMessage = toConnectError(error, logger).rawMessage;
      return create(ModelStreamInferResponseSchema, { errorMessage, inferResponse });
    }
  }

  return {
    serverLive: () => ({ live: true }),
    serverReady: () => ({ ready: core.serverReady() }),
    modelReady: (req) => ({ ready: core.modelReady(req.name, req.version) }),
    serverMetadata: () => ({
      name: "inferd",
      version: options.serverVersion,
      extensions: [...OIP_EXTENSIONS],
    }),
    modelMetadata: (req) => {
      const m = core.modelMetadata(req.name, req.version);
      return {
        name: m.name,
        versions: [...m.versions],
        platform: m.platform,
        inputs: m.inputs.map(tensorMetadata),
        outputs: m.outputs.map(tensorMetadata),
      };
    },
    async modelInfer(request, context) {
      if (context.timeoutMs() === undefined) return infer(request, context, context.signal);
      // A deadline needs the domain signal, so that the core reads it as deadline_exceeded.
      const link = linkDomainSignal(context.signal);
      try {
        return await infer(request, context, link.signal);
      } finally {
        link.unlink();
      }
    },
    async *modelStreamInfer(requests, context) {
      const signal = toDomainSignal(context.signal);
      setMaxListeners(0, signal);
      const answers = mapOrdered(requests, (r) => inferOne(r, context, signal), concurrency);
      for await (const answer of answers) {
        if (signal.aborted) return;
        yield answer;
      }
    },
    repositoryIndex: (req) => ({
      models: core.repositoryIndex(req.ready).map((m) => ({ ...m })),
    }),
    repositoryModelLoad: async (req, context) => {
      await core.load(req.modelName, context.signal);
      return {};
    },
    repositoryModelUnload: async (req) => {
      await core.unload(req.modelName);
      return {};
    },
    modelStatistics: (req) => encodeModelStatistics(core.modelStatistics(req.name, req.version)),
    modelConfig: (req) => encodeModelConfig(core.modelConfig(req.name, req.version)),
  };
}
