import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import {
  DataType,
  type Tensor,
  type TensorInfo,
  TensorSchema,
} from "../../gen/inferd/v1/tensor_pb.js";

/** Sample values the editor starts from (an Iris row for floats), cycled to fill the shape. */
const FLOAT_SAMPLE = [5.1, 3.5, 1.4, 0.2];
const INT_SAMPLE = [1, 2, 3, 4];

/** The JSON field that carries each dtype, as the Tensor message documents it. */
function sampleFor(dtype: DataType, count: number): [string, JsonValue[]] {
  const cycle = <T extends JsonValue>(sample: readonly T[]) =>
    Array.from({ length: count }, (_, i) => sample[i % sample.length] as T);
  switch (dtype) {
    case DataType.FLOAT64:
      return ["doubleData", cycle(FLOAT_SAMPLE)];
    case DataType.BOOL:
      return ["boolData", cycle([false])];
    case DataType.STRING:
      return ["stringData", cycle(["text"])];
    case DataType.INT8:
    case DataType.INT16:
    case DataType.INT32:
    case DataType.INT64:
    case DataType.UINT8:
      return ["intData", cycle(INT_SAMPLE)];
    default:
      return ["floatData", cycle(FLOAT_SAMPLE)];
  }
}

/**
 * The editor's starting text for a model's inputs: one tensor per input in the
 * API's JSON form, dynamic dimensions (-1) set to 1, e.g.
 * `{"features": {"shape":[1,4],"floatData":[5.1,3.5,1.4,0.2]}}`.
 */
export function inputTemplate(inputs: readonly TensorInfo[]): string {
  const lines = inputs.map((info) => {
    const shape = info.shape.map((d) => (d < 0 ? 1 : d));
    const [field, data] = sampleFor(
      info.dtype,
      shape.reduce((a, b) => a * b, 1),
    );
    return `  ${JSON.stringify(info.name)}: ${JSON.stringify({ shape, [field]: data })}`;
  });
  return `{\n${lines.join(",\n")}\n}`;
}

/**
 * Parses the editor's text into Predict inputs.
 *
 * @throws Error naming the input whose tensor is not valid (bad JSON, unknown field).
 */
export function parseInputs(text: string): Record<string, Tensor> {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error('inputs must be a JSON object: {"<input name>": {"shape": [...], ...}}');
  }
  const inputs: Record<string, Tensor> = {};
  for (const [name, value] of Object.entries(parsed as Record<string, JsonValue>)) {
    try {
      inputs[name] = fromJson(TensorSchema, value);
    } catch (error) {
      throw new Error(`input "${name}": ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return inputs;
}

/** A tensor's values from whichever typed field carries them (int64 as strings). */
export function tensorValues(tensor: Tensor): (number | string | boolean)[] {
  if (tensor.floatData.length > 0) return tensor.floatData;
  if (tensor.doubleData.length > 0) return tensor.doubleData;
  if (tensor.intData.length > 0) return tensor.intData;
  if (tensor.int64Data.length > 0) return tensor.int64Data.map(String);
  if (tensor.boolData.length > 0) return tensor.boolData;
  return tensor.stringData;
}

/** "float32 [1, 3]": how the page names a dtype and shape. */
export function describeTensor(dtype: DataType, shape: readonly number[]): string {
  const name = DataType[dtype]?.toLowerCase() ?? "unspecified";
  return `${name} [${shape.join(", ")}]`;
}
