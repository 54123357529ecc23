import type {
  OipInferRequest,
  OipInferResult,
  OipOutput,
} from "../../open-inference/oip-tensor.js";
import { encodeRawTensor } from "../../open-inference/raw-tensor-codec.js";
import type { HostTensor } from "../../tensor/host-tensor.js";

/** An infer answer ready to write: its headers and its body (JSON, then any binary tensors). */
export interface InferAnswer {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/**
 * Whether an output goes back as binary data: its own `binary_data` parameter, else
 * the request's `binary_data_output`, else JSON; FP16, which has no JSON form, always
 * binary. (The core has already refused non-boolean values of both.)
 */
function isBinary(request: OipInferRequest, output: OipOutput): boolean {
  if (output.tensor.dtype === "float16") return true;
  const own = request.outputs?.find((o) => o.name === output.name)?.parameters?.binary_data;
  const all = request.parameters?.binary_data_output;
  return (own ?? all) === true;
}

/**
 * The JSON text of a tensor's elements, flat and row-major: BOOL as true/false, BYTES
 * as strings, INT64 written digit for digit (JSON.stringify cannot write a bigint).
 */
function jsonData(tensor: HostTensor): string {
  const { data } = tensor;
  if (Array.isArray(data)) return JSON.stringify(data);
  if (data instanceof BigInt64Array) return `[${data.join(",")}]`;
  if (tensor.dtype === "bool") return JSON.stringify(Array.from(data, (b) => b !== 0));
  return JSON.stringify(Array.from(data as ArrayLike<number>));
}

/**
 * An answered infer request as the REST response: `{model_name, model_version, id?,
 * outputs: [{name, datatype, shape, data}]}`. Outputs asked for as binary (Triton's
 * binary tensor extension) carry `parameters.binary_data_size` instead of `data`,
 * and their bytes follow the JSON in output order; the answer is then
 * application/octet-stream with `Inference-Header-Content-Length`.
 */
export function encodeInferAnswer(request: OipInferRequest, result: OipInferResult): InferAnswer {
  const binary: Uint8Array[] = [];
  const outputs = result.outputs.map((output) => {
    const head = { name: output.name, datatype: output.datatype, shape: output.shape };
    if (!isBinary(request, output)) {
      return `${JSON.stringify(head).slice(0, -1)},"data":${jsonData(output.tensor)}}`;
    }
    const bytes = encodeRawTensor(output.tensor);
    binary.push(bytes);
    return JSON.stringify({ ...head, parameters: { binary_data_size: bytes.length } });
  });
  const top = {
    model_name: result.model,
    model_version: result.version,
    ...(result.id !== "" && { id: result.id }),
  };
  const json = Buffer.from(`${JSON.stringify(top).slice(0, -1)},"outputs":[${outputs.join(",")}]}`);
  if (binary.length === 0) {
    return { headers: { "content-type": "application/json; charset=utf-8" }, body: json };
  }
  return {
    headers: {
      "content-type": "application/octet-stream",
      "inference-header-content-length": String(json.length),
    },
    body: Buffer.concat([json, ...binary]),
  };
}
