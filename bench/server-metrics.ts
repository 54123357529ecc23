/** Counters of one model scraped from the server's /metrics (Prometheus text format). */
export interface ModelCounters {
  readonly ok: number;
  readonly failed: number;
  /** Model runs (batches) and the rows, compute and queue time they add up to. */
  readonly batches: number;
  readonly rows: number;
  readonly computeSeconds: number;
  readonly queueSeconds: number;
}

/** What the server itself saw during one load run: differences of {@link ModelCounters}. */
export interface ServerView {
  readonly failed: number;
  readonly meanBatchSize: number;
  /** Mean time of one model run as the batcher sees it: worker hop and session.run. */
  readonly meanComputeMs: number;
  readonly meanQueueMs: number;
}

/**
 * Reads `model`'s counters from GET /metrics. The bench uses them to count gRPC
 * errors that h2load cannot see (it only knows HTTP status 200) and to explain the
 * figures: batch sizes reached, compute and queue time per request.
 */
export async function scrapeModelCounters(port: number, model: string): Promise<ModelCounters> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let ok = 0;
  let failed = 0;
  const sums: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (!line.includes(`model="${model}"`)) continue;
    const [series, value] = line.split(/ (?=[^ ]+$)/);
    const v = Number(value);
    if (series === undefined || !Number.isFinite(v)) continue;
    const name = series.slice(0, series.indexOf("{"));
    if (name === "inferd_inference_requests_total") {
      // Calls a load generator cuts off when its time is up end "canceled": not failures.
      if (series.includes('code="ok"')) ok += v;
      else if (!series.includes('code="canceled"')) failed += v;
    } else sums[name] = (sums[name] ?? 0) + v;
  }
  return {
    ok,
    failed,
    batches: sums.inferd_inference_batch_size_count ?? 0,
    rows: sums.inferd_inference_batch_size_sum ?? 0,
    computeSeconds: sums.inferd_inference_compute_duration_seconds_sum ?? 0,
    queueSeconds: sums.inferd_inference_queue_duration_seconds_sum ?? 0,
  };
}

/** The server's view of a run from the counters before and after it. */
export function serverView(before: ModelCounters, after: ModelCounters): ServerView {
  const batches = after.batches - before.batches;
  const requests = after.ok + after.failed - before.ok - before.failed;
  return {
    failed: after.failed - before.failed,
    meanBatchSize: batches > 0 ? (after.rows - before.rows) / batches : 0,
    meanComputeMs:
      batches > 0 ? ((after.computeSeconds - before.computeSeconds) * 1000) / batches : 0,
    meanQueueMs: requests > 0 ? ((after.queueSeconds - before.queueSeconds) * 1000) / requests : 0,
  };
}

/**
 * The resolution of prom-client's `monitorEventLoopDelay` (Node's default, 10 ms):
 * every recorded sample includes it, so an idle loop reads ~10 ms.
 */
export const EVENT_LOOP_RESOLUTION_MS = 10;

/**
 * Scrapes GET /metrics and returns the event-loop delay p99 since the previous
 * scrape in ms, the resolution taken off (prom-client resets its histogram on every
 * scrape, so scrape once before a run and once after to get the run's p99 alone).
 * NaN when the server exposes no `*_nodejs_eventloop_lag_p99_seconds`.
 */
export async function scrapeEventLoopDelayP99(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = /^\w*nodejs_eventloop_lag_p99_seconds ([^\s]+)$/m.exec(text);
  if (!line) return Number.NaN;
  return Math.max(0, Number(line[1]) * 1000 - EVENT_LOOP_RESOLUTION_MS);
}
