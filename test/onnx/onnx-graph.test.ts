import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import { OnnxGraph } from "../../src/onnx/onnx-graph.js";

const { onnx } = onnxProto;
const { INT64, INT32, FLOAT } = onnx.TensorProto.DataType;

/** A graph holding constants of every kind the rewrites meet, and one computed value. */
function constants(): OnnxGraph {
  const raw = new Uint8Array(16);
  new DataView(raw.buffer).setBigInt64(0, 2n, true);
  new DataView(raw.buffer).setBigInt64(8, -3n, true);
  const graph = onnx.GraphProto.create({
    initializer: [
      onnx.TensorProto.create({ name: "listed", dataType: INT64, dims: [2], int64Data: [4, -1] }),
      onnx.TensorProto.create({ name: "raw", dataType: INT64, dims: [2], rawData: raw }),
      onnx.TensorProto.create({ name: "int32", dataType: INT32, dims: [1], int32Data: [7] }),
      onnx.TensorProto.create({ name: "float", dataType: FLOAT, dims: [], floatData: [0.5] }),
    ],
    node: [
      onnx.NodeProto.create({
        opType: "Constant",
        output: ["constant"],
        attribute: [
          onnx.AttributeProto.create({
            name: "value",
            type: onnx.AttributeProto.AttributeType.TENSOR,
            t: onnx.TensorProto.create({ dataType: INT64, dims: [1], int64Data: [2] }),
          }),
        ],
      }),
      onnx.NodeProto.create({ opType: "Shape", input: ["listed"], output: ["computed"] }),
    ],
  });
  return OnnxGraph.decode(onnx.ModelProto.encode(onnx.ModelProto.create({ graph })).finish());
}

describe("OnnxGraph constants", () => {
  it("reads the integers of initializers (listed, raw, int32) and of Constant nodes", () => {
    const graph = constants();
    expect(graph.constantInts("listed")).toEqual([4, -1]);
    expect(graph.constantInts("raw")).toEqual([2, -3]);
    expect(graph.constantInts("int32")).toEqual([7]);
    expect(graph.constantInts("constant")).toEqual([2]);
  });

  it("has no constant for a value computed at run time, and no integers for a float", () => {
    const graph = constants();
    expect(graph.constantTensor("computed")).toBeUndefined();
    expect(graph.constantInts("computed")).toBeUndefined();
    expect(graph.constantTensor("float")?.floatData).toEqual([0.5]);
    expect(graph.constantInts("float")).toBeUndefined();
    expect(graph.constantInts("missing")).toBeUndefined();
  });
});
