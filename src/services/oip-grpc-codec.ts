import { create } from "@bufbuild/protobuf";
import {
  type InferParameter,
  type InferTensorContents,
  InferTensorContentsSchema,
  type ModelInferRequest,
  type ModelInferResponse,
  ModelInferResponse_InferOutputTensorSchema,
  ModelInferResponseSchema,
} from "../../gen/inference/grpc_service_pb.js";
import { invalidArgument } from "../errors/inferd-error.js";
import { toOipContents } from "../open-inference/oip-contents.js";
import type {
  OipContents,
  OipInferRequest,
  OipInferResult,
  OipInput,
  OipParameter,
  OipParameters,
} from "../open-inference/oip-tensor.js";
import { encodeRawTensor } from "../open-inference/raw-tensor-codec.js";

/** InferParameter map to neutral parameters (an unset oneof is left out). */
export function decodeParameters(parameters: { [key: string]: InferParameter }): OipParameters {
  const decoded: Record<string, OipParameter> = {};
  for (const [key, p] of Object.entries(parameters)) {
    if (p.parameterChoice.case !== undefined) decoded[key] = p.parameterChoice.value;
  }
  return decoded;
}

function decodeContents(c: InferTensorContents | undefined): OipContents | undefined {
  if (c === undefined) return undefined;
  return {
    bool: c.boolContents,
    int: c.intContents,
    int64: c.int64Contents,
    uint: c.uintContents,
    uint64: c.uint64Contents,
    fp32: c.fp32Contents,
    fp64: c.fp64Contents,
    bytes: c.bytesContents,
  };
}

/**
 * A ModelInferRequest as the neutral request: raw_input_contents[i] becomes input
 * i's raw bytes. More raw entries than inputs is invalid_argument (fewer is caught
 * by the core: those inputs are then typed beside raw ones).
 */
export function decodeInferRequest(request: ModelInferRequest): OipInferRequest {
  const raw = request.rawInputContents;
  if (raw.length > request.inputs.length) {
    throw invalidArgument(
      `raw_input_contents has ${raw.length} entries but the request has ${request.inputs.length} inputs; send one per input, in the order of inputs`,
    );
  }
  const inputs = request.inputs.map((input, i): OipInput => {
    const contents = decodeContents(input.contents);
    const bytes = raw[i];
    return {
      name: input.name,
      datatype: input.datatype,
      shape: input.shape.map(Number),
      parameters: decodeParameters(input.parameters),
      ...(contents !== undefined && { contents }),
      ...(bytes !== undefined && { raw: bytes }),
    };
  });
  return {
    model: request.modelName,
    version: request.modelVersion,
    id: request.id,
    parameters: decodeParameters(request.parameters),
    inputs,
    outputs: request.outputs.map((o) => ({
      name: o.name,
      parameters: decodeParameters(o.parameters),
    })),
  };
}

function encodeContents(contents: OipContents): InferTensorContents {
  return create(InferTensorContentsSchema, {
    boolContents: [...(contents.bool ?? [])],
    intContents: [...(contents.int ?? [])],
    int64Contents: [...(contents.int64 ?? [])],
    uintContents: [...(contents.uint ?? [])],
    uint64Contents: [...(contents.uint64 ?? [])],
    fp32Contents: [...(contents.fp32 ?? [])],
    fp64Contents: [...(contents.fp64 ?? [])],
    bytesContents: [...(contents.bytes ?? [])],
  });
}

/**
 * A result as ModelInferResponse: raw_output_contents (one entry per output, in
 * order) when `result.raw`, else typed contents per output.
 */
export function encodeInferResponse(result: OipInferResult): ModelInferResponse {
  const outputs = result.outputs.map((o) => {
    const contents = result.raw ? undefined : toOipContents(o.tensor);
    return create(ModelInferResponse_InferOutputTensorSchema, {
      name: o.name,
      datatype: o.datatype,
      shape: o.shape.map(BigInt),
      ...(contents !== undefined && { contents: encodeContents(contents) }),
    });
  });
  return create(ModelInferResponseSchema, {
    modelName: result.model,
    modelVersion: result.version,
    id: result.id,
    outputs,
    rawOutputContents: result.raw ? result.outputs.map((o) => encodeRawTensor(o.tensor)) : [],
  });
}
