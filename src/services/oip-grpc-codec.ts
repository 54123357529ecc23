import type {
  InferParameter,
  InferTensorContents,
  ModelInferRequest,
  ModelInferResponse,
  ModelInferResponse_InferOutputTensor,
} from "../../gen/inference/grpc_service_pb.js";
import { invalidArgument } from "../errors/inferd-error.js";
import { toOipContents } from "../open-inference/oip-contents.js";
import type {
  OipContents,
  OipInferRequest,
  OipInferResult,
  OipInput,
  OipOutput,
  OipParameter,
  OipParameters,
} from "../open-inference/oip-tensor.js";
import { encodeRawTensor } from "../open-inference/raw-tensor-codec.js";

/** Shared by every request, input and output without parameters (most of them): frozen. */
const NO_PARAMETERS: OipParameters = Object.freeze({});

/** InferParameter map to neutral parameters (an unset oneof is left out). */
export function decodeParameters(parameters: { [key: string]: InferParameter }): OipParameters {
  let decoded: Record<string, OipParameter> | undefined;
  // for...in, not Object.entries: no array per map, and none at all for an empty one.
  for (const key in parameters) {
    const choice = parameters[key]?.parameterChoice;
    if (choice?.case === undefined) continue;
    decoded ??= {};
    decoded[key] = choice.value;
  }
  return decoded ?? NO_PARAMETERS;
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

/** `toOipContents` builds fresh arrays: the message takes them as they are, not copied. */
const owned = <T>(values: readonly T[] | undefined): T[] => (values ?? []) as T[];

function encodeContents(contents: OipContents): InferTensorContents {
  return {
    $typeName: "inference.InferTensorContents",
    boolContents: owned(contents.bool),
    intContents: owned(contents.int),
    int64Contents: owned(contents.int64),
    uintContents: owned(contents.uint),
    uint64Contents: owned(contents.uint64),
    fp32Contents: owned(contents.fp32),
    fp64Contents: owned(contents.fp64),
    bytesContents: owned(contents.bytes),
  };
}

function encodeOutput(output: OipOutput, raw: boolean): ModelInferResponse_InferOutputTensor {
  const contents = raw ? undefined : toOipContents(output.tensor);
  return {
    $typeName: "inference.ModelInferResponse.InferOutputTensor",
    name: output.name,
    datatype: output.datatype,
    shape: output.shape.map(BigInt),
    parameters: {},
    ...(contents !== undefined && { contents: encodeContents(contents) }),
  };
}

/**
 * A result as ModelInferResponse: raw_output_contents (one entry per output, in
 * order, views of the output tensors) when `result.raw`, else typed contents per
 * output. proto3 messages are plain objects in protobuf-es v2: they are built as
 * literals with every field set, as `create()` would set them, without its schema
 * walk per message (as Predict's response is).
 */
export function encodeInferResponse(result: OipInferResult): ModelInferResponse {
  return {
    $typeName: "inference.ModelInferResponse",
    modelName: result.model,
    modelVersion: result.version,
    id: result.id,
    parameters: {},
    outputs: result.outputs.map((o) => encodeOutput(o, result.raw)),
    rawOutputContents: result.raw ? result.outputs.map((o) => encodeRawTensor(o.tensor)) : [],
  };
}
