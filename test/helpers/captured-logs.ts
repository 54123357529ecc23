import { createLogger, type Logger } from "../../src/logging/logger.js";

/** One parsed JSON log line. */
export type LogLine = Record<string, unknown>;

/** A logger at info level whose lines a test reads back, as written and parsed. */
export interface CapturedLogs {
  readonly logger: Logger;
  /** The lines as written (to search for what must never be logged). */
  readonly text: readonly string[];
  /** Every line parsed. */
  parsed(): LogLine[];
  /** The access-log lines ("rpc") of one request id. */
  rpcLines(requestId: string): LogLine[];
}

export function captureLogs(): CapturedLogs {
  const text: string[] = [];
  const logger = createLogger({ level: "info", destination: { write: (l) => void text.push(l) } });
  const parsed = () => text.map((l) => JSON.parse(l) as LogLine);
  return {
    logger,
    text,
    parsed,
    rpcLines: (requestId) => parsed().filter((l) => l.msg === "rpc" && l.request_id === requestId),
  };
}
