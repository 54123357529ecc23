import type { ModelConfig } from "./model-config.js";

/**
 * The effective configuration as snake_case JSON, defaults included: what GetModel
 * reports, in the same shape as model.json so an operator can copy it back. Keys
 * without a value (`kind` before detection, `label_output` resolved from the
 * signature, unset session options) are left out.
 */
export function effectiveConfigJson(config: ModelConfig): Record<string, unknown> {
  const session: Record<string, unknown> = {};
  if (config.session.intraOpThreads !== undefined) {
    session.intra_op_threads = config.session.intraOpThreads;
  }
  if (config.session.interOpThreads !== undefined) {
    session.inter_op_threads = config.session.interOpThreads;
  }
  if (config.session.graphOptimizationLevel !== undefined) {
    session.graph_optimization_level = config.session.graphOptimizationLevel;
  }
  if (config.session.allowSpinning !== undefined) {
    session.allow_spinning = config.session.allowSpinning;
  }
  if (config.session.workerNice !== undefined) session.worker_nice = config.session.workerNice;
  const routing =
    config.routing.policy === "weighted"
      ? {
          policy: "weighted",
          weights: Object.fromEntries(
            [...config.routing.weights].map(([version, weight]) => [String(version), weight]),
          ),
        }
      : { policy: "newest" };
  const versionPolicy =
    config.versionPolicy === "all"
      ? "all"
      : "latest" in config.versionPolicy
        ? { latest: config.versionPolicy.latest }
        : { specific: [...config.versionPolicy.specific] };
  return {
    ...(config.kind !== undefined && { kind: config.kind }),
    version_policy: versionPolicy,
    labels: [...config.labels],
    ...(config.labelOutput !== undefined && { label_output: config.labelOutput }),
    top_k: config.topK,
    instance_count: config.instanceCount,
    execution: config.execution,
    session,
    warmup: config.warmup,
    timeout_ms: config.timeoutMs,
    routing,
    max_batch_size: config.maxBatchSize,
    max_queue_delay_us: config.maxQueueDelayUs,
    queue_delay: config.queueDelay,
    preferred_batch_sizes: [...config.preferredBatchSizes],
    max_queue_size: config.maxQueueSize,
    priority_levels: config.priorityLevels,
    response_cache: { max_entries: config.responseCache.maxEntries },
    max_concurrent_sequences: config.maxConcurrentSequences,
    max_prefill_tokens_per_step: config.maxPrefillTokensPerStep,
    max_prefill_tokens_while_decoding: config.maxPrefillTokensWhileDecoding,
    max_waiting: config.maxWaiting,
    max_sequences_per_client: config.maxSequencesPerClient,
    kv_cache: config.kvCache,
    kv_cache_memory_bytes: config.kvCacheMemoryBytes,
    matmul_nbits_accuracy_level: config.matmulNBitsAccuracyLevel,
    prefix_cache_bytes: config.prefixCacheBytes,
  };
}
