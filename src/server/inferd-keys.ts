import { createKeyRing, type KeyRing } from "../auth/key-ring.js";
import { readKeysFileSync } from "../auth/keys-file.js";
import { watchKeysFile } from "../auth/watch-keys-file.js";
import type { ServerConfig } from "../config/server-options.js";
import type { Logger } from "../logging/logger.js";
import type { InferdMetrics } from "../metrics/inferd-metrics.js";
import { recordRateLimited } from "../metrics/rate-limit-metrics.js";

/** The server's keys and the watch on the keys file. */
export interface InferdKeys {
  /** Undefined when neither `--api-key` nor `--api-keys-file` is given: the server is open. */
  readonly ring: KeyRing | undefined;
  /** Stops watching the keys file. */
  stop(): void;
}

/**
 * The key ring of `--api-key` and `--api-keys-file`, counting refusals by limit in
 * `inferd_rate_limited_total`. The file is read now (a bad file stops the start, as a bad
 * flag does) and re-read when it changes: a file that no longer parses keeps the old
 * keys and logs an error naming the problem.
 */
export function createInferdKeys(
  config: ServerConfig,
  logger: Logger,
  metrics: InferdMetrics,
): InferdKeys {
  const path = config.apiKeysFile;
  if (config.apiKey.length === 0 && path === undefined) return { ring: undefined, stop: () => {} };
  const fileKeys = path === undefined ? [] : readKeysFileSync(path);
  const ring = createKeyRing({
    keys: config.apiKey,
    fileKeys,
    onRateLimited: (key, limit) => recordRateLimited(metrics, key, limit),
  });
  const stopping = new AbortController();
  if (path !== undefined) {
    logger.info({ file: path, keys: fileKeys.length }, "API keys file read");
    watchKeysFile(path, {
      signal: stopping.signal,
      onKeys: (keys) => {
        ring.replaceFileKeys(keys);
        logger.info({ file: path, keys: keys.length }, "API keys file reloaded");
      },
      onError: (error) =>
        logger.error(
          { file: path, error: error.message },
          "API keys file not reloaded; the old keys stay",
        ),
    });
  }
  return { ring, stop: () => stopping.abort() };
}
