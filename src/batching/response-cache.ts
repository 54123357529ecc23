import type { TensorMap } from "../runtime/model-runtime.js";
import type { HostTensor } from "../tensor/host-tensor.js";

/** Options of the response cache (`model.json` `response_cache`). */
export interface ResponseCacheOptions {
  /** Entries kept; the least recently used is evicted beyond this. */
  maxEntries: number;
}

/**
 * An LRU map from {@link responseCacheKey} to a model response. It stores and hands
 * out private copies, because callers may transfer or mutate the tensors they get.
 */
export interface ResponseCache {
  /** A copy of the cached response, marking it most recently used; undefined on a miss. */
  get(key: string): TensorMap | undefined;
  /** Stores a copy of `outputs`, evicting the least recently used entry when full. */
  set(key: string, outputs: TensorMap): void;
  readonly size: number;
}

/** Creates a {@link ResponseCache}; `maxEntries` 0 caches nothing. */
export function createResponseCache(options: ResponseCacheOptions): ResponseCache {
  const maxEntries = Math.max(0, Math.floor(options.maxEntries));
  // A Map iterates in insertion order: re-inserting on use keeps the LRU entry first.
  const entries = new Map<string, TensorMap>();
  return {
    get(key) {
      const hit = entries.get(key);
      if (hit === undefined) return undefined;
      entries.delete(key);
      entries.set(key, hit);
      return cloneTensorMap(hit);
    },
    set(key, outputs) {
      if (maxEntries === 0) return;
      entries.delete(key);
      entries.set(key, cloneTensorMap(outputs));
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
      }
    },
    get size() {
      return entries.size;
    },
  };
}

function cloneTensorMap(map: TensorMap): TensorMap {
  const out: TensorMap = {};
  for (const [name, tensor] of Object.entries(map)) out[name] = cloneTensor(tensor);
  return out;
}

function cloneTensor(tensor: HostTensor): HostTensor {
  return { dtype: tensor.dtype, dims: [...tensor.dims], data: tensor.data.slice() };
}
