import { invalidArgument } from "../../errors/inferd-error.js";
import { type OipDatatype, oipDatatypeToDType } from "../../open-inference/oip-datatype.js";
import { contentsFieldOf } from "../../open-inference/oip-input.js";
import type { OipContents, OipContentsField } from "../../open-inference/oip-tensor.js";
import { elementCount } from "../../tensor/host-tensor.js";

const utf8 = new TextEncoder();

/** What each contents field takes from JSON, and how an element becomes its value. */
const ELEMENTS: Readonly<
  Record<
    OipContentsField,
    { what: string; ok: (v: unknown) => boolean; to?: (v: never) => unknown }
  >
> = {
  bool: { what: "true or false", ok: (v) => typeof v === "boolean" },
  int: { what: "numbers", ok: (v) => typeof v === "number" },
  uint: { what: "numbers", ok: (v) => typeof v === "number" },
  fp32: { what: "numbers", ok: (v) => typeof v === "number" },
  fp64: { what: "numbers", ok: (v) => typeof v === "number" },
  // JSON numbers past 2^53 have already lost digits when parsed: refused, not rounded.
  int64: { what: "integers within ±2^53", ok: Number.isSafeInteger, to: (v: number) => BigInt(v) },
  uint64: { what: "integers within ±2^53", ok: Number.isSafeInteger, to: (v: number) => BigInt(v) },
  bytes: { what: "strings", ok: (v) => typeof v === "string", to: (v: string) => utf8.encode(v) },
};

/**
 * A JSON input's `data` as the typed contents of its datatype, for the core
 * (`toTensorInputs`) to check against the model: flat, or nested row-major exactly
 * as the shape says; as many elements as the shape holds; BOOL as true/false, BYTES
 * as strings, INT64 as integers within ±2^53, other numbers as JSON numbers. FP16 has
 * no JSON form: it travels only as binary data. Every failure is invalid_argument
 * naming the input.
 */
export function jsonDataToContents(
  input: string,
  datatype: string,
  shape: readonly number[],
  data: unknown,
): OipContents {
  oipDatatypeToDType(input, datatype);
  const field = contentsFieldOf(datatype as OipDatatype);
  if (field === undefined) {
    throw invalidArgument(
      `input "${input}": datatype ${datatype} has no JSON form; send it as binary data (Inference-Header-Content-Length and parameters.binary_data_size)`,
    );
  }
  if (!Array.isArray(data)) {
    throw invalidArgument(`input "${input}": data must be an array, flat or nested row-major`);
  }
  const flat = flatten(input, shape, data);
  const count = elementCount(shape);
  if (flat.length !== count) {
    throw invalidArgument(
      `input "${input}": the shape [${shape.join(", ")}] needs ${count} values but data has ${flat.length}`,
    );
  }
  const element = ELEMENTS[field];
  const bad = flat.findIndex((v) => !element.ok(v));
  if (bad >= 0) {
    throw invalidArgument(
      `input "${input}": data[${bad}] is ${JSON.stringify(flat[bad])}; ${datatype} data holds ${element.what}`,
    );
  }
  const to = element.to as ((v: unknown) => unknown) | undefined;
  return { [field]: to ? flat.map(to) : flat } as OipContents;
}

/** Row-major elements of flat data as they are, of nested data checked against the shape. */
function flatten(input: string, shape: readonly number[], data: readonly unknown[]): unknown[] {
  if (!data.some(Array.isArray)) return [...data];
  const out: unknown[] = [];
  const walk = (value: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(value)) throw nestedMismatch(input, shape, path, "is nested deeper");
      out.push(value);
      return;
    }
    if (!Array.isArray(value)) throw nestedMismatch(input, shape, path, "is not an array");
    if (value.length !== shape[depth]) {
      throw nestedMismatch(input, shape, path, `has ${value.length} elements, not ${shape[depth]}`);
    }
    value.forEach((v, i) => {
      walk(v, depth + 1, `${path}[${i}]`);
    });
  };
  walk(data, 0, "");
  return out;
}

function nestedMismatch(input: string, shape: readonly number[], path: string, what: string) {
  return invalidArgument(
    `input "${input}": nested data does not match the shape [${shape.join(", ")}]: data${path} ${what}`,
  );
}
