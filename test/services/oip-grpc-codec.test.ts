import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  ModelInferRequestSchema,
  ModelInferResponseSchema,
} from "../../gen/inference/grpc_service_pb.js";
import { decodeInferRequest, encodeInferResponse } from "../../src/services/oip-grpc-codec.js";

const result = (raw: boolean) => ({
  model: "m",
  version: "2",
  id: "req-1",
  raw,
  outputs: [
    {
      name: "y",
      datatype: "FP32" as const,
      shape: [1, 2],
      tensor: { dtype: "float32" as const, dims: [1, 2], data: Float32Array.of(0.5, -2) },
    },
  ],
});

describe("encodeInferResponse", () => {
  it("builds the message create() would build, typed and raw", () => {
    const typed = encodeInferResponse(result(false));
    const expected = create(ModelInferResponseSchema, {
      modelName: "m",
      modelVersion: "2",
      id: "req-1",
      outputs: [
        { name: "y", datatype: "FP32", shape: [1n, 2n], contents: { fp32Contents: [0.5, -2] } },
      ],
    });
    expect(equals(ModelInferResponseSchema, typed, expected)).toBe(true);
    const raw = fromBinary(
      ModelInferResponseSchema,
      toBinary(ModelInferResponseSchema, encodeInferResponse(result(true))),
    );
    expect(raw.outputs[0]?.contents).toBeUndefined();
    expect(
      Array.from(new Float32Array(Uint8Array.from(raw.rawOutputContents[0] ?? []).buffer)),
    ).toEqual([0.5, -2]);
  });
});

describe("decodeInferRequest", () => {
  it("decodes set parameters and leaves empty maps empty", () => {
    const request = create(ModelInferRequestSchema, {
      modelName: "m",
      parameters: { priority: { parameterChoice: { case: "int64Param", value: 2n } }, unset: {} },
      inputs: [{ name: "x", datatype: "FP32", shape: [1n] }],
    });
    const decoded = decodeInferRequest(request);
    expect(decoded.parameters).toEqual({ priority: 2n });
    expect(decoded.inputs[0]?.parameters).toEqual({});
  });
});
