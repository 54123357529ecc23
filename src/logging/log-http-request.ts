import type { ParserRefusal } from "../listener/answer-client-errors.js";
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

/** The access log's code for each status Node's parser answers with. */
const CODE_OF_PARSER_STATUS: Readonly<Record<number, string>> = {
  400: "invalid_argument",
  408: "deadline_exceeded",
  413: "resource_exhausted",
  431: "resource_exhausted",
};

/**
 * The access-log line of a request Node's HTTP/1 parser refused before any route or RPC
 * saw it (an invalid chunk, Content-Length with Transfer-Encoding, headers too large):
 * `{status, code, peer, refused: true, error}` at warn, the client's fault with a
 * precise code (`invalid_argument` for a 400), never `internal`. No route nor method:
 * the request may not have parsed that far.
 */
export function logParserRefusal(logger: Logger): (refusal: ParserRefusal) => void {
  return ({ status, peer, reason }) => {
    const code = CODE_OF_PARSER_STATUS[status] ?? "invalid_argument";
    logger.warn({ status, code, peer, refused: true, error: reason }, "http");
  };
}
