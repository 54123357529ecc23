import {
  ModelMetadataRequestSchema,
  ModelReadyRequestSchema,
} from "../../gen/inference/grpc_service_pb.js";
import { bytes, env, type HostileRow, oipRow, pb } from "./hostile-row.js";
import { f32le, IRIS_ROW, modelInfer, oipInput, PATHS } from "./hostile-samples.js";
import { envelope } from "./hostile-wire.js";

const IA = { code: "invalid_argument" } as const;
const infer = (name: string, body: Uint8Array, expect: HostileRow["expect"], todo?: string) =>
  oipRow(
    `OIP gRPC ModelInfer: ${name}`,
    PATHS.modelInfer,
    env(body),
    expect,
    todo === undefined ? {} : { todo },
  );

/** Open Inference Protocol gRPC rows (`inference.GRPCInferenceService`). */
export const OIP_ROWS: readonly HostileRow[] = [
  infer("garbage protobuf", bytes(0xff, 0xff, 0xff), IA),
  infer("an empty model name", modelInfer({ modelName: "" }), {
    code: "not_found",
    message: "not found; models: iris, tiny_llama",
  }),
  infer("a path-traversal model name", modelInfer({ modelName: "../iris" }), {
    code: "not_found",
    message: "not found; models: iris, tiny_llama",
  }),
  infer("an unknown model", modelInfer({ modelName: "nope" }), {
    code: "not_found",
    message: "nope",
  }),
  infer("an unknown version", modelInfer({ modelVersion: "9" }), { code: "not_found" }),
  infer("a version that is not a number", modelInfer({ modelVersion: "latest" }), IA),
  infer("a negative version", modelInfer({ modelVersion: "-1" }), IA),
  infer(
    "an unknown datatype",
    modelInfer({ inputs: oipInput({ datatype: "FP99", contents: { fp32Contents: IRIS_ROW } }) }),
    IA,
  ),
  infer(
    "FP64 for an FP32 input",
    modelInfer({ inputs: oipInput({ datatype: "FP64", contents: { fp64Contents: IRIS_ROW } }) }),
    IA,
  ),
  infer(
    "contents of another datatype",
    modelInfer({ inputs: oipInput({ contents: { int64Contents: [1n, 2n, 3n, 4n] } }) }),
    IA,
  ),
  infer(
    "a negative dimension",
    modelInfer({ inputs: oipInput({ shape: [-1n, 4n], contents: { fp32Contents: IRIS_ROW } }) }),
    IA,
  ),
  infer(
    "a dimension beyond 2^53",
    modelInfer({
      inputs: oipInput({ shape: [1n << 60n, 4n], contents: { fp32Contents: IRIS_ROW } }),
    }),
    IA,
  ),
  infer(
    "too few elements for the shape",
    modelInfer({ inputs: oipInput({ shape: [2n, 4n], contents: { fp32Contents: IRIS_ROW } }) }),
    IA,
  ),
  infer(
    "the wrong feature count",
    modelInfer({ inputs: oipInput({ shape: [1n, 3n], contents: { fp32Contents: [1, 2, 3] } }) }),
    IA,
  ),
  infer(
    "an unknown input name",
    modelInfer({
      inputs: [
        { name: "x", datatype: "FP32", shape: [1n, 4n], contents: { fp32Contents: IRIS_ROW } },
      ],
    }),
    IA,
  ),
  infer("no inputs", modelInfer({ inputs: [] }), IA),
  infer("an unknown requested output", modelInfer({ outputs: [{ name: "nope" }] }), IA),
  infer(
    "raw and typed contents mixed",
    modelInfer({
      inputs: oipInput({ contents: { fp32Contents: IRIS_ROW } }),
      rawInputContents: [f32le(IRIS_ROW)],
    }),
    IA,
  ),
  infer(
    "raw contents of the wrong length",
    modelInfer({ inputs: oipInput({}), rawInputContents: [f32le([1, 2, 3])] }),
    IA,
  ),
  infer(
    "more raw entries than inputs",
    modelInfer({ inputs: oipInput({}), rawInputContents: [f32le(IRIS_ROW), f32le(IRIS_ROW)] }),
    IA,
  ),
  infer("no contents at all", modelInfer({ inputs: oipInput({}) }), IA),
  infer(
    "classification of a negative count",
    modelInfer({
      outputs: [
        {
          name: "probabilities",
          parameters: { classification: { parameterChoice: { case: "int64Param", value: -2n } } },
        },
      ],
    }),
    IA,
  ),
  oipRow(
    "OIP gRPC ModelInfer: reserved flag bit 0x80 on the envelope",
    PATHS.modelInfer,
    envelope(modelInfer(), 0x80),
    IA,
  ),
  oipRow(
    "OIP gRPC ModelMetadata: an unknown model",
    PATHS.modelMetadata,
    env(pb(ModelMetadataRequestSchema, { name: "nope" })),
    { code: "not_found" },
  ),
  oipRow(
    "OIP gRPC ModelMetadata: empty name",
    PATHS.modelMetadata,
    env(pb(ModelMetadataRequestSchema, { name: "" })),
    { code: "not_found" },
  ),
  oipRow(
    "OIP gRPC ModelReady: a version that is not a number",
    PATHS.modelReady,
    env(pb(ModelReadyRequestSchema, { name: "iris", version: "x" })),
    IA,
  ),
  oipRow(
    "OIP gRPC ModelStatistics: an empty request lists every model",
    PATHS.modelStatistics,
    env(new Uint8Array()),
    { code: "ok" },
  ),
];
