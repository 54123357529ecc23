import { invalidArgument } from "../../errors/inferd-error.js";
import { countParameter } from "../../open-inference/oip-parameters.js";
import type {
  OipInferRequest,
  OipInput,
  OipParameters,
  OipRequestedOutput,
} from "../../open-inference/oip-tensor.js";
import { parseJsonBytes } from "../read-json-body.js";
import { jsonDataToContents } from "./json-tensor-data.js";

/** Where the request came from: the path's model and version, and the binary extension's header. */
export interface InferTarget {
  readonly model: string;
  readonly version: number | undefined;
  /** `Inference-Header-Content-Length`: the JSON's length when binary tensors follow it. */
  readonly headerLength: string | undefined;
}

type Json = Record<string, unknown>;

function objectOf(value: unknown, what: string): Json {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Json;
  throw invalidArgument(`${what} must be a JSON object`);
}

function arrayOf(value: unknown, what: string): unknown[] {
  if (Array.isArray(value)) return value;
  throw invalidArgument(`${what} must be an array`);
}

function stringOf(value: unknown, what: string): string {
  if (typeof value === "string" && value !== "") return value;
  throw invalidArgument(`${what} must be a non-empty string`);
}

function parametersOf(value: unknown, where: string): OipParameters | undefined {
  if (value === undefined) return undefined;
  const parameters = objectOf(value, `${where} parameters`);
  for (const [key, v] of Object.entries(parameters)) {
    if (!["boolean", "number", "string"].includes(typeof v)) {
      throw invalidArgument(`${where} parameter "${key}" must be a boolean, number or string`);
    }
  }
  return parameters as OipParameters;
}

/** Splits the body at `Inference-Header-Content-Length`: the JSON header, then the binary tensors. */
function splitBody(body: Buffer, headerLength: string | undefined): [Buffer, Buffer] {
  if (headerLength === undefined) return [body, body.subarray(body.length)];
  const length = /^[0-9]{1,15}$/.test(headerLength) ? Number(headerLength) : Number.NaN;
  if (!(length <= body.length)) {
    throw invalidArgument(
      `Inference-Header-Content-Length ${headerLength} is not a length within the body (${body.length} bytes)`,
    );
  }
  return [body.subarray(0, length), body.subarray(length)];
}

/** One input: JSON `data`, or `binary_data_size` bytes of `binary` from `cursor.offset` on. */
function parseInput(
  value: unknown,
  i: number,
  binary: Buffer,
  cursor: { offset: number },
): OipInput {
  const input = objectOf(value, `inputs[${i}]`);
  const name = stringOf(input.name, `inputs[${i}].name`);
  const datatype = stringOf(input.datatype, `input "${name}": datatype`);
  const shape = arrayOf(input.shape, `input "${name}": shape`);
  if (!shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw invalidArgument(`input "${name}": shape must hold integers >= 0`);
  }
  const parameters = parametersOf(input.parameters, `input "${name}"`);
  const size = countParameter(parameters, "binary_data_size", `input "${name}"`);
  const base = { name, datatype, shape: shape as number[], ...(parameters && { parameters }) };
  if (size === undefined) {
    return { ...base, contents: jsonDataToContents(name, datatype, base.shape, input.data) };
  }
  if (input.data !== undefined) {
    throw invalidArgument(`input "${name}": give data or parameters.binary_data_size, not both`);
  }
  const start = cursor.offset;
  if (start + size > binary.length) {
    throw invalidArgument(
      `input "${name}": binary_data_size ${size} runs past the body: ${binary.length - start} bytes of binary data remain after the JSON header (Inference-Header-Content-Length)`,
    );
  }
  cursor.offset += size;
  return { ...base, raw: binary.subarray(start, start + size) };
}

/**
 * A `POST .../infer` body as the core's {@link OipInferRequest}: the JSON object
 * `{id?, parameters?, inputs, outputs?}`, each input with JSON `data` or, under
 * Triton's binary tensor extension, `parameters.binary_data_size` bytes taken in
 * input order from the binary tensors after the JSON header, which must add up to
 * exactly what follows it. Each input chooses binary or JSON on its own
 * (`rawPerInput`). Throws invalid_argument (400) naming what is wrong.
 */
export function parseInferRequest(body: Buffer, target: InferTarget): OipInferRequest {
  const [header, binary] = splitBody(body, target.headerLength);
  const json = objectOf(parseJsonBytes(header), "the request body");
  const cursor = { offset: 0 };
  const inputs = arrayOf(json.inputs, '"inputs"').map((v, i) => parseInput(v, i, binary, cursor));
  if (cursor.offset !== binary.length) {
    throw invalidArgument(
      `the body holds ${binary.length} bytes of binary data after the JSON header but the inputs' binary_data_size add up to ${cursor.offset}`,
    );
  }
  const id = json.id === undefined ? "" : json.id;
  if (typeof id !== "string") throw invalidArgument('"id" must be a string');
  const parameters = parametersOf(json.parameters, "request");
  const outputs = json.outputs === undefined ? [] : arrayOf(json.outputs, '"outputs"');
  return {
    model: target.model,
    version: target.version === undefined ? "" : String(target.version),
    id,
    ...(parameters && { parameters }),
    inputs,
    rawPerInput: true,
    outputs: outputs.map((value, i): OipRequestedOutput => {
      const output = objectOf(value, `outputs[${i}]`);
      const name = stringOf(output.name, `outputs[${i}].name`);
      const p = parametersOf(output.parameters, `output "${name}"`);
      return { name, ...(p && { parameters: p }) };
    }),
  };
}
