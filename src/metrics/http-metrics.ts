import type { InferdMetrics } from "./inferd-metrics.js";

/** One finished request of a plain HTTP API route (the OpenAI routes). */
export interface HttpRequestDone {
  /** The endpoint, e.g. "/v1/chat/completions" or "/v1/models/{model}"; "other" when unknown. */
  readonly route: string;
  readonly method: string;
  /** The HTTP status sent (for a stream, the one its headers carried). */
  readonly status: number;
  /** Until the response ended (a stream's last event). */
  readonly seconds: number;
  readonly peer: string | undefined;
  /** The name of the API key the request came with (never the key), when one was recognised. */
  readonly key?: string | undefined;
}

/** Counts a finished HTTP API request by route, method and status, and observes its time. */
export function recordHttpRequest(metrics: InferdMetrics, done: HttpRequestDone): void {
  metrics.httpRequests.inc({ route: done.route, method: done.method, code: String(done.status) });
  metrics.httpRequestSeconds.observe({ route: done.route }, done.seconds);
}
