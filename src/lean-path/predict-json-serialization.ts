import type { DescMethod, JsonReadOptions, JsonWriteOptions, Message } from "@bufbuild/protobuf";
import type { createMethodSerializationLookup } from "@connectrpc/connect/protocol";
import {
  PredictRequestSchema,
  type PredictResponse,
  PredictResponseSchema,
} from "../../gen/inferd/v1/inference_pb.js";
import { readPredictRequestJson } from "../services/decode-predict-request-json.js";
import { writePredictResponseJson } from "../services/encode-predict-response-json.js";

/** What {@link withPredictJson} needs of the path's options. */
export interface PredictJsonOptions {
  /** connect-es's JSON serialization options (its type is not exported). */
  readonly jsonOptions: Partial<JsonReadOptions & JsonWriteOptions> & {
    readonly prettySpaces?: number;
    readonly textDecoder?: { decode(bytes: Uint8Array): string };
    readonly textEncoder?: { encode(text: string): Uint8Array<ArrayBuffer> };
  };
  readonly readMaxBytes: number;
}

/** A method's (de)serializers, as `createSerializers` builds them (no import: a cycle). */
type Serialization = ReturnType<typeof createMethodSerializationLookup>;
type Json = ReturnType<Serialization["getI"]>;

/** Options under which protobuf-es reads and writes as the hand-written JSON codec does. */
function isPlain(o: PredictJsonOptions["jsonOptions"]): boolean {
  return (
    o.registry === undefined &&
    o.recursionLimit === undefined &&
    !o.alwaysEmitImplicit &&
    !o.enumAsInteger &&
    !o.useProtoFieldName &&
    !o.prettySpaces
  );
}

/**
 * `serialization` with the JSON side of Predict (inferd.v1) read and written by the
 * hand-written codec (`readPredictRequestJson`, `writePredictResponseJson`) for the plain
 * case, and by connect-es's own serialization (protobuf-es) for anything else: what it
 * takes is read and written exactly as protobuf-es does, and whatever it leaves goes
 * back through the original, so errors (limits, UTF-8, bad JSON) keep their codes and
 * words. Other methods, and options the codec does not mirror, keep `serialization`.
 * Why: fromJsonString's duplicate-key scan and reflection plus toJson's were ~10% of the
 * main thread of a one-row Connect JSON Predict.
 */
export function withPredictJson(
  serialization: Serialization,
  method: DescMethod,
  options: PredictJsonOptions,
): Serialization {
  const { jsonOptions, readMaxBytes } = options;
  if (method.input !== PredictRequestSchema || method.output !== PredictResponseSchema)
    return serialization;
  if (!isPlain(jsonOptions)) return serialization;
  const decoder = jsonOptions.textDecoder ?? new TextDecoder();
  // Buffer.from writes the same UTF-8 as TextEncoder, at a quarter of its cost for a short text.
  const encode = jsonOptions.textEncoder
    ? (text: string) => jsonOptions.textEncoder?.encode(text) as Uint8Array<ArrayBuffer>
    : (text: string): Uint8Array<ArrayBuffer> => Buffer.from(text);
  const inputJson = serialization.getI(false);
  const outputJson = serialization.getO(false);
  const input: Json = {
    parse(bytes) {
      if (bytes.byteLength <= readMaxBytes) {
        let text: string | undefined;
        try {
          text = decoder.decode(bytes);
        } catch {
          // Refused below, in connect-es's words.
        }
        const message = text === undefined ? undefined : readPredictRequestJson(text);
        if (message !== undefined) return message;
      }
      return inputJson.parse(bytes);
    },
    serialize: (message) => inputJson.serialize(message),
  };
  const output: Json = {
    parse: (bytes) => outputJson.parse(bytes),
    serialize(message: Message) {
      const text = writePredictResponseJson(message as PredictResponse);
      return text === undefined ? outputJson.serialize(message) : encode(text);
    },
  };
  return {
    getI: (binary) => (binary ? serialization.getI(true) : input),
    getO: (binary) => (binary ? serialization.getO(true) : output),
  };
}
