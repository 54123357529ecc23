/**
 * What one loaded generative version holds in memory, in bytes, as GetModel and
 * /metrics report it. Defined here, beside `Servable`, so that the registry can
 * report it without knowing the generation engine.
 */
export interface VersionMemory {
  /** The model's initializers, external data included (onnx/read-onnx-weight-bytes.ts). */
  readonly weightBytes: number;
  /** One cached token: 2 × layers × KV heads × head size × bytes per element. */
  readonly kvCacheBytesPerToken: number;
  /** Tokens cached now across running sequences, times the bytes per token. */
  readonly kvCacheUsedBytes: number;
  /** What the cache's buffers hold now (padding and spare slots included). */
  readonly kvCacheReservedBytes: number;
  /** A full cache: max_concurrent_sequences × context window × bytes per token. */
  readonly kvCacheMaxBytes: number;
  /** The budget `kvCacheMaxBytes` was checked against at load. */
  readonly kvCacheBudgetBytes: number;
  /**
   * Prompt-prefix KV blocks kept for reuse now (blocks × bytes per block); held beside
   * the KV cache, outside its budget (engine/prefix-cache.ts). 0 without a prefix cache.
   */
  readonly prefixCacheUsedBytes: number;
  /** What the prefix cache may hold: model.json `prefix_cache_bytes` (0: no prefix cache). */
  readonly prefixCacheBudgetBytes: number;
}
