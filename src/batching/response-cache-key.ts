import { createHash, type Hash } from "node:crypto";
import type { TensorMap } from "../runtime/model-runtime.js";
import type { TensorData } from "../tensor/host-tensor.js";

/**
 * A SHA-256 over everything that determines a response: each input's name, dtype,
 * dims and bytes (inputs in name order), then the requested output names (sorted;
 * none means "all outputs", which hashes differently from naming them). Call it
 * before the inputs are handed to the model, whose worker may detach their buffers.
 */
export function responseCacheKey(inputs: TensorMap, outputNames: readonly string[] = []): string {
  const hash = createHash("sha256");
  for (const name of Object.keys(inputs).sort()) {
    const tensor = inputs[name];
    if (tensor === undefined) continue;
    hash.update(JSON.stringify([name, tensor.dtype, tensor.dims]));
    hashData(hash, tensor.data);
  }
  hash.update(JSON.stringify([...new Set(outputNames)].sort()));
  return hash.digest("hex");
}

function hashData(hash: Hash, data: TensorData): void {
  if (Array.isArray(data)) {
    // Length-prefix every string so that ["ab","c"] and ["a","bc"] differ.
    const lengths = new Uint32Array(data.length);
    const bytes = data.map((s, i) => {
      const b = Buffer.from(s, "utf8");
      lengths[i] = b.length;
      return b;
    });
    hash.update(new Uint8Array(lengths.buffer));
    for (const b of bytes) hash.update(b);
    return;
  }
  hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}
