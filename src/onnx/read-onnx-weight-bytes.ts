import { open } from "node:fs/promises";
import { forEachField, WindowReader } from "./protobuf-file-reader.js";

/** ModelProto.graph, GraphProto.initializer, TensorProto.dims and data_type (onnx.proto3). */
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_DIMS = 1;
const TENSOR_DATA_TYPE = 2;

/**
 * Bits per element of each TensorProto.DataType (FLOAT = 1 ... FLOAT4E2M1 = 23);
 * 0 for UNDEFINED and STRING, whose size is not a function of the shape.
 */
const ELEMENT_BITS: readonly number[] = [
  0, 32, 8, 8, 16, 16, 32, 64, 0, 8, 16, 64, 32, 64, 64, 128, 16, 8, 8, 8, 8, 4, 4, 4,
];

/**
 * The bytes the main graph's initializers hold, weights kept in external data files
 * included: per initializer, its element count times its element size (int4 packed
 * two per byte, rounded up), read from each TensorProto's dims and data_type alone.
 * Nothing but the headers is read (the data is skipped by seeking), so this costs
 * kilobytes of I/O on a model of gigabytes and holds no copy of the weights.
 * Not counted: sparse initializers, string tensors, Constant nodes and subgraphs'
 * initializers (small in the decoder exports inferd serves).
 * @throws Error when the file is not a readable ONNX protobuf.
 */
export async function readOnnxWeightBytes(modelPath: string): Promise<number> {
  const file = await open(modelPath, "r");
  try {
    const reader = new WindowReader(file);
    const { size } = await file.stat();
    let total = 0;
    await forEachField(reader, 0, size, async (field, from, to) => {
      if (field !== MODEL_GRAPH) return;
      await forEachField(reader, from, to, async (graphField, tensorFrom, tensorTo) => {
        if (graphField === GRAPH_INITIALIZER)
          total += await tensorBytes(reader, tensorFrom, tensorTo);
      });
    });
    return total;
  } finally {
    await file.close();
  }
}

/** One TensorProto's size in bytes, from its dims (packed or not) and data_type. */
async function tensorBytes(reader: WindowReader, start: number, end: number): Promise<number> {
  const dims: number[] = [];
  let dataType = 0;
  const onVarint = (field: number, value: number) => {
    if (field === TENSOR_DIMS) dims.push(value);
    else if (field === TENSOR_DATA_TYPE) dataType = value;
  };
  await forEachField(
    reader,
    start,
    end,
    async (field, from, to) => {
      // Packed dims: a run of varints.
      for (let pos = from; field === TENSOR_DIMS && pos < to; ) {
        const [value, next] = await reader.varint(pos);
        dims.push(value);
        pos = next;
      }
    },
    onVarint,
  );
  const elements = dims.reduce((product, d) => product * d, 1);
  return Math.ceil((elements * (ELEMENT_BITS[dataType] ?? 0)) / 8);
}
