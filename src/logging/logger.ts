import { type Bindings, type DestinationStream, type Logger as PinoLogger, pino } from "pino";
import { invalidArgument } from "../errors/inferd-error.js";

/**
 * The logger the rest of inferd depends on: pino's four levels plus `child`.
 * Narrow on purpose, so that tests can pass any pino instance and code cannot
 * reconfigure the process logger.
 */
export type Logger = Pick<PinoLogger, "debug" | "info" | "warn" | "error"> & {
  child(bindings: Bindings): Logger;
};

/** Options of `createLogger`. */
export interface LoggerOptions {
  /** pino level: "fatal", "error", "warn", "info", "debug", "trace" or "silent". */
  level: string;
  /**
   * Where JSON lines go; when absent, stdout written in batches
   * (`createStdoutDestination`). Tests pass a capturing stream.
   */
  destination?: DestinationStream;
}

/**
 * Header names that may carry credentials, redacted wherever a logged object holds
 * them: directly, under `headers`, or under the usual parents of a request or
 * response (`req.headers`, `response.headers`...). Explicit paths, no wildcard: a
 * `*` path makes fast-redact walk every logged object, which measured ~25 us per
 * access-log line against ~1 us for these (bench: 100k lines to /dev/null).
 */
const SECRET_KEYS = ["authorization", "cookie", "set-cookie", "proxy-authorization", "x-api-key"];
const SECRET_PARENTS = ["", "headers", "req", "req.headers", "request", "request.headers"].concat([
  "res.headers",
  "response.headers",
  "err",
  "error",
  "upstream",
  "upstream.headers",
]);
const REDACT_PATHS = SECRET_KEYS.flatMap((key) =>
  // fast-redact paths need bracket notation for keys that are not identifiers.
  SECRET_PARENTS.map((parent) =>
    /^\w+$/.test(key) ? `${parent}${parent ? "." : ""}${key}` : `${parent}["${key}"]`,
  ),
);

/**
 * Creates the process logger: one JSON object per line with an ISO time, and
 * credential-bearing headers replaced by "[redacted]".
 *
 * @throws InferdError invalid_argument for a level pino does not know.
 */
export function createLogger(options: LoggerOptions): Logger {
  const levels = Object.keys(pino.levels.values).concat("silent");
  if (!levels.includes(options.level)) {
    throw invalidArgument(`unknown log level "${options.level}"; use one of ${levels.join(", ")}`);
  }
  const config = {
    level: options.level,
    base: { service: "inferd" },
    timestamp: isoTime,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
  };
  const destination = options.destination ?? createStdoutDestination();
  return pino(config, destination);
}

/** Bytes of log lines held before one write to stdout. */
const BATCH_BYTES = 4096;
/** Most a held line waits before it is written anyway. */
const FLUSH_EVERY_MS = 100;

/**
 * stdout, written synchronously in batches: lines are held until 4 KiB are queued
 * (about a dozen access-log lines, one write syscall for all) or 100 ms have passed,
 * and whatever is held is written when the process exits, however it exits.
 * Why not pino's asynchronous destination: its writes run on libuv's thread pool, and
 * a process that exits while one is in flight loses those lines and writes the later
 * ones first (seen under load: the test of 100 lines then `process.exit`). Writing
 * synchronously is what Node does for stdout pipes on Linux anyway; the batching
 * keeps it off the hot path (the access log wrote ~2.5 % of the main thread's time
 * per Predict with one write per line).
 */
function createStdoutDestination(): DestinationStream {
  const stdout = pino.destination({
    dest: 1,
    sync: true,
    minLength: BATCH_BYTES,
    periodicFlush: FLUSH_EVERY_MS,
    // Held lines as Buffers with their lengths: in its default (string) mode sonic-boom
    // appends each line to one held string and measures that whole string's UTF-8
    // length again for every line (~12 % of the observing interceptor's CPU per call).
    contentMode: "buffer",
  });
  process.once("exit", () => {
    try {
      stdout.flushSync();
    } catch {
      // stdout already closed: nothing left to write to.
    }
  });
  // sonic-boom's types name only strings; in buffer mode it takes Buffers.
  const writeBuffer = stdout.write.bind(stdout) as unknown as (line: Buffer) => boolean;
  return { write: (line: string) => writeBuffer(Buffer.from(line)) };
}

let lastMs = Number.NaN;
let lastTime = "";

/**
 * pino's `isoTime` (`,"time":"<ISO 8601>"`, the same text), built once per millisecond:
 * at thousands of access-log lines a second most share their millisecond with the
 * previous one (~0.7 us a line saved, bench: 100k lines to /dev/null).
 */
function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}
