import type { HttpRequestDone } from "../metrics/http-metrics.js";
import type { Logger } from "./logger.js";

/**
 * The access-log line of a plain HTTP API request, the OpenAI routes' counterpart of the
 * RPC line: `{route, method, status, duration_ms, peer, key}` (`key`: the API key's name). Never bodies or headers (so no
 * prompts and no API keys). Level: info below 400, warn for 4xx, error for 5xx.
 */
export function logHttpRequest(logger: Logger): (done: HttpRequestDone) => void {
  return (done) => {
    const line = {
      route: done.route,
      method: done.method,
      status: done.status,
      duration_ms: Math.round(done.seconds * 1_000_000) / 1000,
      peer: done.peer,
      key: done.key,
    };
    if (done.status >= 500) logger.error(line, "http");
    else if (done.status >= 400) logger.warn(line, "http");
    else logger.info(line, "http");
  };
}
