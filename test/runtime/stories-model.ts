import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { TensorMap } from "../../src/runtime/model-runtime.js";

/** The tiny Llama (stories260k) shared by the runtime tests; absent on some machines. */
export const STORIES_PATH = fileURLToPath(
  new URL("../../../shared/models/stories260k/1/model.onnx", import.meta.url),
);
export const HAS_STORIES = existsSync(STORIES_PATH);
export const SKIP_REASON = `stories260k not found at ${STORIES_PATH}`;

export const LAYERS = 5;

/**
 * Fresh prefill feeds (no past) for `batch` sequences of `length` tokens. Fresh each
 * call because runs transfer (detach) the input buffers. Larger shapes make longer
 * runs: 8x256 takes ~150 ms on one thread.
 */
export function storiesFeeds(batch: number, length: number, seed = 1): TensorMap {
  const n = batch * length;
  const ids = BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 7 + seed * 13) % 512));
  const positions = BigInt64Array.from({ length: n }, (_, i) => BigInt(i % length));
  const feeds: TensorMap = {
    input_ids: { dtype: "int64", dims: [batch, length], data: ids },
    attention_mask: { dtype: "int64", dims: [batch, length], data: new BigInt64Array(n).fill(1n) },
    position_ids: { dtype: "int64", dims: [batch, length], data: positions },
  };
  for (let layer = 0; layer < LAYERS; layer++) {
    for (const kind of ["key", "value"]) {
      feeds[`past_key_values.${layer}.${kind}`] = {
        dtype: "float32",
        dims: [batch, 4, 0, 8],
        data: new Float32Array(0),
      };
    }
  }
  return feeds;
}

/** The raw bytes of a tensor's data, for bit-exact comparisons. */
export function bytesOf(data: unknown): Buffer {
  if (!ArrayBuffer.isView(data)) throw new Error("expected a typed array");
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
