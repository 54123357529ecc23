import type { DType } from "./host-tensor.js";

/**
 * The values of a wire tensor, tagged by the data field that carried them. The kind
 * says which field was used, not the dtype: `int` values may become int8 ... int64,
 * `float` values float32 or float16, and `raw` bytes any numeric or bool dtype.
 * `float` data is a Float32Array when the binary decoder read a packed run (no number[]
 * on the JS heap); it may be a view of the request's bytes: read it, never write it.
 */
export type TensorValues =
  | { readonly kind: "float"; readonly data: readonly number[] | Float32Array }
  | { readonly kind: "double"; readonly data: readonly number[] }
  | { readonly kind: "int"; readonly data: readonly number[] }
  | { readonly kind: "int64"; readonly data: readonly bigint[] }
  | { readonly kind: "bool"; readonly data: readonly boolean[] }
  | { readonly kind: "string"; readonly data: readonly string[] }
  | { readonly kind: "raw"; readonly bytes: Uint8Array };

/** Which wire field carried a tensor's values. */
export type TensorValueKind = TensorValues["kind"];

/**
 * The domain form of a request tensor before validation: what the client sent,
 * decoded from the wire but not yet checked against the model's signature
 * (`materializeInput` in `validate-input.ts` does that).
 */
export interface TensorInput {
  /** Absent when the client left it unspecified: the model's input dtype applies. */
  readonly dtype?: DType;
  readonly dims: readonly number[];
  /** Absent when no data field was set (legal only for zero-element tensors). */
  readonly values?: TensorValues;
  /**
   * Names of every data field the client set. More than one is an error that
   * validation reports by name; `values` then holds the first of them.
   */
  readonly setFields?: readonly string[];
}
