/** The intra-op threads of a worker-executed version's sessions, and why (for the load log). */
export interface WorkerIntraOpThreads {
  readonly intraOpThreads: number;
  readonly reason: string;
}

/**
 * The default intra-op threads of each session of a worker-executed Predict version:
 * the machine's cores less one, left to the event loop, shared evenly among the
 * version's instances (`floor((cores - 1) / instances)`, at least 1). onnxruntime's own
 * default is one thread per core per session: a batch then keeps every core busy
 * (spinning between runs too) while the event loop, which parses the requests and
 * feeds the batches, waits for a core. mlp_heavy over gRPC, c=64, batching on, 2 cores
 * shared with other load (session 24, 6 alternating rounds): 1 thread served 401-1,033
 * calls/s, onnxruntime's 2 threads 154-648 (9 rounds), with no worse event-loop p99.
 */
export function defaultWorkerIntraOpThreads(cores: number, instances: number): number {
  return Math.max(1, Math.floor((Math.max(1, cores) - 1) / Math.max(1, instances)));
}

/**
 * model.json's `session.intra_op_threads` when it sets one (0 keeps onnxruntime's own
 * default, one per core), else {@link defaultWorkerIntraOpThreads}.
 */
export function chooseWorkerIntraOpThreads(
  configured: number | undefined,
  cores: number,
  instances: number,
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
  const threads = defaultWorkerIntraOpThreads(cores, instances);
  const shared = instances === 1 ? "" : `, shared by ${instances} instances`;
  return {
    intraOpThreads: threads,
    reason: `${threads} intra-op thread(s) per instance: ${cores} cores less 1 for the event loop${shared}`,
  };
}
