/** The intra-op threads of a worker-executed version's sessions, and why (for the load log). */
export interface WorkerIntraOpThreads {
  /** Undefined: onnxruntime's own default (one per core). */
  readonly intraOpThreads: number | undefined;
  readonly reason: string;
}

/**
 * The default intra-op threads of each session of a worker-executed Predict version
 * that batches: the machine's cores less one, left to the event loop, shared evenly
 * among the version's instances (`floor((cores - 1) / instances)`, at least 1).
 * onnxruntime's own default is one thread per core per session: a batch then keeps
 * every core busy while the event loop, which parses the next requests and assembles
 * the next batch, waits for a core (its runqueue wait was 2-7x its run time). mlp_heavy
 * over gRPC, c=64, batching on, 2 cores (session 24, 3 alternating rounds at load
 * 1.4-2.6): 1 thread 3,212-3,658 calls/s and event-loop p99 8.4-10.2 ms, onnxruntime's 2
 * threads 3,007-3,141 and 12.4-14.5 ms. A version that does not batch keeps
 * onnxruntime's default ({@link chooseWorkerIntraOpThreads}): its one-row runs are the
 * latency itself, and there 2 threads served 683-1,360 calls/s against 1 thread's 432-512.
 */
export function defaultWorkerIntraOpThreads(cores: number, instances: number): number {
  return Math.max(1, Math.floor((Math.max(1, cores) - 1) / Math.max(1, instances)));
}

/**
 * model.json's `session.intra_op_threads` when it sets one (0 keeps onnxruntime's own
 * default, one per core); else, for a version that batches (`batchRows` > 1),
 * {@link defaultWorkerIntraOpThreads}; else onnxruntime's default (undefined).
 */
export function chooseWorkerIntraOpThreads(
  configured: number | undefined,
  cores: number,
  instances: number,
  batchRows: number,
): WorkerIntraOpThreads {
  if (configured !== undefined) {
    const threads =
      configured === 0
        ? "onnxruntime's default intra-op threads"
        : `${configured} intra-op thread(s) per instance`;
    return {
      intraOpThreads: configured,
      reason: `${threads} (model.json session.intra_op_threads)`,
    };
  }
  if (batchRows <= 1) {
    return {
      intraOpThreads: undefined,
      reason: "onnxruntime's default intra-op threads (no batching: one-row runs use every core)",
    };
  }
  const threads = defaultWorkerIntraOpThreads(cores, instances);
  const shared = instances === 1 ? "" : `, shared by ${instances} instances`;
  return {
    intraOpThreads: threads,
    reason: `${threads} intra-op thread(s) per instance: ${cores} cores less 1 for the event loop while batches run${shared}`,
  };
}
