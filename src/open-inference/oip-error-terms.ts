import { invalidArgument, isInferdError } from "../errors/inferd-error.js";
import { isDType } from "../tensor/host-tensor.js";
import { toOipDatatype } from "./oip-datatype.js";

const oipName = (dtype: string) => (isDType(dtype) ? toOipDatatype(dtype) : dtype);

/**
 * An error of the Predict path reworded in the protocol's terms, for every OIP
 * transport at once: a datatype mismatch found by inferd's own validation names
 * the datatypes as the client sent them and ModelMetadata reports them ("INT32",
 * "FP32"), not inferd's dtypes. It reads the error's structured detail, so no
 * registry lookup is needed; any other error passes through unchanged.
 */
export function inOipTerms(error: unknown): unknown {
  if (!isInferdError(error) || error.detail?.reason !== "dtype_mismatch") return error;
  const { input, dtype, expected } = error.detail;
  return invalidArgument(
    `input "${input}": datatype ${oipName(dtype)} does not match the model's ${oipName(expected)}`,
  );
}
