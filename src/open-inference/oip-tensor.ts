import type { HostTensor } from "../tensor/host-tensor.js";
import type { OipDatatype } from "./oip-datatype.js";

/**
 * Tensor elements in the protocol's typed form, one optional array per contents
 * field (gRPC's InferTensorContents; REST's JSON `data` once read by datatype, see
 * `contentsFieldOf`). Exactly one field may hold values, the one of the datatype.
 */
export interface OipContents {
  readonly bool?: readonly boolean[];
  /** INT8, INT16, INT32. */
  readonly int?: readonly number[];
  readonly int64?: readonly bigint[];
  /** UINT8, UINT16, UINT32. */
  readonly uint?: readonly number[];
  readonly uint64?: readonly bigint[];
  readonly fp32?: readonly number[];
  readonly fp64?: readonly number[];
  readonly bytes?: readonly Uint8Array[];
}

/** The name of one {@link OipContents} field. */
export type OipContentsField = keyof OipContents;

/** A parameter value: `bool_param`, `int64_param`/`uint64_param`, `double_param`, `string_param`. */
export type OipParameter = boolean | number | bigint | string;

/** Named parameters of a request, an input or a requested output. */
export type OipParameters = Readonly<Record<string, OipParameter>>;

/**
 * One input of an infer request, protocol-neutral. `raw` holds the little-endian
 * row-major bytes when the request carries raw contents (gRPC's
 * raw_input_contents, REST's binary extension); `contents` the typed values
 * otherwise. When any input of a request is raw, all must be.
 */
export interface OipInput {
  readonly name: string;
  /** As the client spelt it; checked by the core. */
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly parameters?: OipParameters;
  readonly contents?: OipContents;
  readonly raw?: Uint8Array;
}

/** One requested output and its parameters (`classification`, `binary_data`). */
export interface OipRequestedOutput {
  readonly name: string;
  readonly parameters?: OipParameters;
}

/** An infer request as every transport decodes it (ModelInfer, ModelStreamInfer, REST infer). */
export interface OipInferRequest {
  readonly model: string;
  /** "" lets the model's routing policy choose; otherwise a decimal version number. */
  readonly version: string;
  /** Echoed in the response; "" when the client sent none. */
  readonly id: string;
  /** `priority`, `timeout` (microseconds), `binary_data`/`binary_data_output`. */
  readonly parameters?: OipParameters;
  readonly inputs: readonly OipInput[];
  /**
   * True when each input may be raw or typed on its own (REST's binary tensor
   * extension); absent, gRPC's rule holds: when any input is raw, all must be.
   */
  readonly rawPerInput?: boolean;
  /** Empty: every output of the model. */
  readonly outputs?: readonly OipRequestedOutput[];
}

/** One output of an answered request: protocol datatype and shape, and inferd's tensor. */
export interface OipOutput {
  readonly name: string;
  readonly datatype: OipDatatype;
  readonly shape: readonly number[];
  /** The elements; a classification output holds its "score:index[:label]" strings. */
  readonly tensor: HostTensor;
}

/** An answered infer request. */
export interface OipInferResult {
  readonly model: string;
  /** The version that served it, as a decimal string. */
  readonly version: string;
  readonly id: string;
  readonly outputs: readonly OipOutput[];
  /**
   * True when the client asked for raw/binary outputs (raw inputs or `binary_data`)
   * or an output has no typed form (FP16): the transport then sends raw contents.
   */
  readonly raw: boolean;
}
