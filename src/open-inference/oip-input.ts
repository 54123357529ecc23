import { invalidArgument } from "../errors/inferd-error.js";
import { elementCount } from "../tensor/host-tensor.js";
import type { TensorInput, TensorValues } from "../tensor/tensor-input.js";
import { type OipDatatype, oipDatatypeToDType } from "./oip-datatype.js";
import type { OipContents, OipContentsField, OipInput } from "./oip-tensor.js";
import { bytesToStrings, checkRawLength, decodeBytesElements } from "./raw-tensor-codec.js";

const FIELDS: Readonly<Partial<Record<OipDatatype, OipContentsField>>> = {
  BOOL: "bool",
  UINT8: "uint",
  UINT16: "uint",
  UINT32: "uint",
  UINT64: "uint64",
  INT8: "int",
  INT16: "int",
  INT32: "int",
  INT64: "int64",
  FP32: "fp32",
  FP64: "fp64",
  BYTES: "bytes",
};

/** The typed contents field that carries a datatype; undefined for FP16/BF16 (raw only). */
export function contentsFieldOf(datatype: OipDatatype): OipContentsField | undefined {
  return FIELDS[datatype];
}

/** gRPC's name of a contents field, for messages. */
const fieldName = (field: OipContentsField) => `${field}_contents`;

function typedValues(input: OipInput, contents: OipContents, count: number): TensorValues {
  const datatype = input.datatype as OipDatatype;
  const expected = contentsFieldOf(datatype);
  const set = (Object.keys(contents) as OipContentsField[]).filter(
    (f) => (contents[f]?.length ?? 0) > 0,
  );
  const stray = set.find((f) => f !== expected);
  if (expected === undefined && (set.length > 0 || count > 0)) {
    throw invalidArgument(
      `input "${input.name}": datatype ${datatype} has no typed contents field; send it as raw contents (raw_input_contents)`,
    );
  }
  if (stray !== undefined) {
    throw invalidArgument(
      `input "${input.name}": datatype ${datatype} takes ${expected === undefined ? "raw contents" : fieldName(expected)}, but ${fieldName(stray)} is set`,
    );
  }
  const values = (expected && contents[expected]) ?? [];
  if (values.length !== count) {
    throw invalidArgument(
      `input "${input.name}": the shape [${input.shape.join(", ")}] needs ${count} values but ${expected ? fieldName(expected) : "contents"} has ${values.length}`,
    );
  }
  switch (expected) {
    case "bool":
      return { kind: "bool", data: contents.bool ?? [] };
    case "int64":
      return { kind: "int64", data: contents.int64 ?? [] };
    case "fp32":
      return { kind: "float", data: contents.fp32 ?? [] };
    case "fp64":
      return { kind: "double", data: contents.fp64 ?? [] };
    case "bytes":
      return { kind: "string", data: bytesToStrings(contents.bytes ?? []) };
    default:
      return { kind: "int", data: contents.int ?? contents.uint ?? [] };
  }
}

function checkShape(input: OipInput): number {
  const bad = input.shape.findIndex((d) => !Number.isSafeInteger(d) || d < 0);
  if (bad >= 0) {
    throw invalidArgument(
      `input "${input.name}": shape dimension ${bad} is ${input.shape[bad]}; dimensions must be integers >= 0`,
    );
  }
  return elementCount(input.shape);
}

/**
 * One protocol input as inferd's {@link TensorInput}: datatype known and held by
 * inferd, typed contents in the field of the datatype with as many values as the
 * shape holds, raw contents of the exact byte length (BYTES: length-prefixed
 * elements, as many as the shape holds). Every failure is invalid_argument naming
 * the input. The model-side checks (datatype and shape against the model's) follow
 * in the Predict path.
 */
export function toTensorInput(input: OipInput): TensorInput {
  const dtype = oipDatatypeToDType(input.name, input.datatype);
  const count = checkShape(input);
  const dims = [...input.shape];
  if (input.raw === undefined) {
    return { dtype, dims, values: typedValues(input, input.contents ?? {}, count) };
  }
  if (dtype === "string") {
    const strings = bytesToStrings(decodeBytesElements(input.name, input.raw, count));
    return { dtype, dims, values: { kind: "string", data: strings } };
  }
  checkRawLength(input.name, dtype, count, input.raw);
  return { dtype, dims, values: { kind: "raw", bytes: input.raw } };
}

function hasTypedValues(input: OipInput): boolean {
  const c = input.contents;
  return c !== undefined && Object.values(c).some((v) => (v?.length ?? 0) > 0);
}

/**
 * A request's inputs by name. Checks first what spans inputs: names unique, and
 * (gRPC's rule, unless `rawPerInput`) raw all or nothing ("when any input uses raw
 * contents, all must", with no typed contents beside them). REST's binary tensor
 * extension lets each input choose, so it passes `rawPerInput`.
 */
export function toTensorInputs(
  inputs: readonly OipInput[],
  rawPerInput = false,
): Record<string, TensorInput> {
  const raw = inputs.filter((i) => i.raw !== undefined);
  if (raw.length > 0 && !rawPerInput) {
    const typed = inputs.find((i) => i.raw === undefined || hasTypedValues(i));
    if (typed !== undefined) {
      throw invalidArgument(
        `input "${typed.name}" uses typed contents but others use raw_input_contents; when any input uses raw_input_contents, all must (and none may set contents)`,
      );
    }
  }
  const decoded: Record<string, TensorInput> = {};
  for (const input of inputs) {
    if (Object.hasOwn(decoded, input.name)) {
      throw invalidArgument(`input "${input.name}" appears more than once`);
    }
    decoded[input.name] = toTensorInput(input);
  }
  return decoded;
}
