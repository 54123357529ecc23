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

/** x → A → a; a → B → b; (a, b) → C → y; (a, a) → D → z; outputs b, y, z: no node is dead. */
function chain(): OnnxGraph {
  const value = (name: string) => onnx.ValueInfoProto.create({ name });
  const node = (name: string, input: string[], output: string) =>
    onnx.NodeProto.create({ name, opType: "Add", input, output: [output] });
  const graph = onnx.GraphProto.create({
    input: [value("x")],
    output: [value("b"), value("y"), value("z")],
    node: [
      node("A", ["x", "x"], "a"),
      node("B", ["a", "a"], "b"),
      node("C", ["a", "b"], "y"),
      node("D", ["a", "a"], "z"),
    ],
  });
  return OnnxGraph.decode(onnx.ModelProto.encode(onnx.ModelProto.create({ graph })).finish());
}

/** Who produces and reads each value, by node name (readers sorted). */
function wiring(graph: OnnxGraph, values: readonly string[]) {
  return values.map((v) => ({
    value: v,
    producer: graph.producer(v)?.name,
    readers: graph
      .consumers(v)
      .map((n) => n.name ?? "")
      .sort(),
  }));
}

const VALUES = ["x", "a", "a2", "b", "y", "z"];
const byName = (graph: OnnxGraph, name: string) => {
  const found = graph.nodes.find((n) => n.name === name);
  if (!found) throw new Error(`no node ${name}`);
  return found;
};

describe("OnnxGraph index kept up to date", () => {
  it.each([
    ["a renamed value", (g: OnnxGraph) => g.renameValue("a", "a2")],
    ["an input rewired", (g: OnnxGraph) => g.setInput(byName(g, "C"), 1, "x")],
    [
      "a node removed, its reader rewired",
      (g: OnnxGraph) => {
        g.setInput(byName(g, "C"), 1, "a");
        g.remove(byName(g, "B"));
      },
    ],
    [
      "one read of a value read twice rewired",
      (g: OnnxGraph) => g.setInput(byName(g, "D"), 0, "x"),
    ],
  ])("answers as an index built afresh after %s", (_, edit) => {
    const graph = chain();
    wiring(graph, VALUES); // the index exists before the edit
    edit(graph);
    const kept = wiring(graph, VALUES);
    graph.prune(); // drops the index: the next reads rebuild it from the nodes
    expect(kept).toEqual(wiring(graph, VALUES));
  });
});
