import { invalidArgument } from "../errors/inferd-error.js";
import type { DType } from "../tensor/host-tensor.js";

/** Every datatype the Open Inference Protocol names (BF16 is Triton's; inferd has no such tensor). */
export const OIP_DATATYPES = [
  "BOOL",
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
  "INT8",
  "INT16",
  "INT32",
  "INT64",
  "FP16",
  "FP32",
  "FP64",
  "BYTES",
  "BF16",
] as const;

/** A datatype as the protocol spells it on the wire ("FP32", "BYTES", ...). */
export type OipDatatype = (typeof OIP_DATATYPES)[number];

const TO_DTYPE: Readonly<Partial<Record<OipDatatype, DType>>> = {
  BOOL: "bool",
  UINT8: "uint8",
  INT8: "int8",
  INT16: "int16",
  INT32: "int32",
  INT64: "int64",
  FP16: "float16",
  FP32: "float32",
  FP64: "float64",
  BYTES: "string",
};

const TO_OIP: Readonly<Record<DType, OipDatatype>> = {
  bool: "BOOL",
  uint8: "UINT8",
  int8: "INT8",
  int16: "INT16",
  int32: "INT32",
  int64: "INT64",
  float16: "FP16",
  float32: "FP32",
  float64: "FP64",
  string: "BYTES",
};

/** Guard: whether a string is a datatype the protocol names. */
export function isOipDatatype(value: string): value is OipDatatype {
  return (OIP_DATATYPES as readonly string[]).includes(value);
}

/** The protocol datatype of an inferd tensor dtype (total: every dtype has one). */
export function toOipDatatype(dtype: DType): OipDatatype {
  return TO_OIP[dtype];
}

/**
 * The inferd dtype an input's protocol datatype names. Throws invalid_argument naming
 * the input for a string the protocol does not know, and for the protocol datatypes
 * no inferd tensor holds (UINT16, UINT32, UINT64, BF16), listing those that work.
 */
export function oipDatatypeToDType(input: string, datatype: string): DType {
  if (!isOipDatatype(datatype)) {
    throw invalidArgument(
      `input "${input}": unknown datatype "${datatype}"; use one of ${OIP_DATATYPES.join(", ")}`,
    );
  }
  const dtype = TO_DTYPE[datatype];
  if (dtype === undefined) {
    throw invalidArgument(
      `input "${input}": datatype ${datatype} is not supported by inferd; supported: ${Object.keys(TO_DTYPE).join(", ")}`,
    );
  }
  return dtype;
}
