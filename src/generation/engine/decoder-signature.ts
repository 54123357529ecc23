import { failedPrecondition } from "../../errors/inferd-error.js";
import {
  ATTENTION_MASK,
  INPUT_IDS,
  LOGITS,
  POSITION_IDS,
  pastLayer,
  pastName,
} from "../../onnx/decoder-names.js";
import type { TensorSpec } from "../../tensor/host-tensor.js";
import type { GenerationConfig } from "../request/generation-config.js";

/** The shape of a decoder-with-past ONNX model (names: onnx/decoder-names.ts). */
export interface DecoderSignature {
  readonly numLayers: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  /** Whether the model takes `position_ids` (some exports compute them inside). */
  readonly hasPositionIds: boolean;
  /**
   * How `present.*` relate to the past: "concat", as exported (past + new slots), or
   * "append", after append-kv-rewrite.ts (the new slots only; see KvCache).
   */
  readonly kvCache: KvCacheMode;
}

/** See {@link DecoderSignature.kvCache}. */
export type KvCacheMode = "concat" | "append";

/**
 * Derives layers, KV heads and head size from the model's inputs (names and static
 * metadata dims), falling back to config.json where a dim is symbolic; never from
 * constants, so grouped-query models (fewer KV heads than attention heads) work.
 * @throws InferdError failed_precondition naming what the model lacks.
 */
export function readDecoderSignature(
  inputs: readonly TensorSpec[],
  outputs: readonly TensorSpec[],
  config: GenerationConfig,
): DecoderSignature {
  const names = new Set(inputs.map((s) => s.name));
  for (const required of [INPUT_IDS, ATTENTION_MASK]) {
    if (!names.has(required)) throw notDecoder(`it has no "${required}" input`);
  }
  const layers = new Set<number>();
  for (const spec of inputs) {
    const layer = pastLayer(spec.name);
    if (layer === undefined) continue;
    layers.add(layer);
    if (spec.dtype !== "float32") {
      throw notDecoder(`"${spec.name}" is ${spec.dtype}; inferd's KV cache is float32 only`);
    }
  }
  const numLayers = layers.size;
  if (numLayers === 0) throw notDecoder("it has no past_key_values.{i}.key/value inputs");
  for (let i = 0; i < numLayers; i++) {
    if (!names.has(pastName(i, "key")) || !names.has(pastName(i, "value"))) {
      throw notDecoder(`past_key_values for layer ${i} are missing`);
    }
  }
  const past = inputs.find((s) => s.name === pastName(0, "key"));
  const numKvHeads = staticDim(past?.dims[1]) ?? config.numKeyValueHeads;
  const headDim = staticDim(past?.dims[3]) ?? config.headDim;
  const logits = outputs.find((s) => s.name === LOGITS);
  if (logits === undefined) throw notDecoder('it has no "logits" output');
  const vocabSize = staticDim(logits.dims[2]) ?? config.vocabSize;
  if (numKvHeads === undefined || headDim === undefined || vocabSize === undefined) {
    throw notDecoder(
      "KV heads, head size or vocabulary size are neither static in the model nor in config.json",
    );
  }
  const hasPositionIds = names.has(POSITION_IDS);
  return { numLayers, numKvHeads, headDim, vocabSize, hasPositionIds, kvCache: "concat" };
}

function staticDim(dim: number | undefined): number | undefined {
  return dim !== undefined && dim > 0 ? dim : undefined;
}

function notDecoder(reason: string) {
  return failedPrecondition(
    `the model is not a decoder with past key values (Optimum layout) usable for generation: ${reason}`,
  );
}
