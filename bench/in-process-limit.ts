import * as ort from "onnxruntime-node";

/** Bare `session.run` figures for one model: the limits the server is compared with. */
export interface InProcessLimit {
  /** Single-row runs back to back. */
  readonly singleCallsPerSecond: number;
  readonly singleRunMs: number;
  /** Runs of `batchRows` rows back to back. */
  readonly batchRows: number;
  readonly batchRowsPerSecond: number;
  /** Median time of one full-batch run: "one full batch's compute" in the p99 target. */
  readonly batchRunMs: number;
}

export interface InProcessLimitOptions {
  readonly modelPath: string;
  readonly input: string;
  readonly rowWidth: number;
  readonly batchRows: number;
  /** Measuring time per figure, after a short warm-up. */
  readonly durationMs: number;
}

/**
 * Measures onnxruntime-node directly on this thread, with ORT's default session
 * options (the same the server's workers use when model.json sets none): no
 * transport, no queue, no thread hop. Inputs are built once outside the timed loop.
 */
export async function measureInProcessLimit(
  options: InProcessLimitOptions,
): Promise<InProcessLimit> {
  const session = await ort.InferenceSession.create(options.modelPath);
  try {
    const single = await timeRuns(session, feed(options, 1), options.durationMs);
    const batch = await timeRuns(session, feed(options, options.batchRows), options.durationMs);
    return {
      singleCallsPerSecond: single.runsPerSecond,
      singleRunMs: single.medianMs,
      batchRows: options.batchRows,
      batchRowsPerSecond: batch.runsPerSecond * options.batchRows,
      batchRunMs: batch.medianMs,
    };
  } finally {
    await session.release();
  }
}

/** Deterministic rows (the same values the load generator sends). */
export function benchRow(rowWidth: number): number[] {
  if (rowWidth === 4) return [5.9, 3.0, 5.1, 1.8];
  return Array.from({ length: rowWidth }, (_, i) => Math.sin(i) * 0.5);
}

function feed(options: InProcessLimitOptions, rows: number): Record<string, ort.Tensor> {
  const row = benchRow(options.rowWidth);
  const data = new Float32Array(rows * options.rowWidth);
  for (let r = 0; r < rows; r++) data.set(row, r * options.rowWidth);
  return { [options.input]: new ort.Tensor("float32", data, [rows, options.rowWidth]) };
}

async function timeRuns(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
  durationMs: number,
): Promise<{ runsPerSecond: number; medianMs: number }> {
  const warmEnd = performance.now() + Math.min(300, durationMs / 4);
  while (performance.now() < warmEnd) await session.run(feeds);
  const times: number[] = [];
  const start = performance.now();
  const end = start + durationMs;
  for (let t = start; t < end; ) {
    await session.run(feeds);
    const now = performance.now();
    times.push(now - t);
    t = now;
  }
  const seconds = (performance.now() - start) / 1000;
  times.sort((a, b) => a - b);
  return { runsPerSecond: times.length / seconds, medianMs: times[times.length >> 1] ?? 0 };
}
