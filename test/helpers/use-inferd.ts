import { afterAll, beforeAll } from "vitest";
import { type RunningInferd, type StartInferdOptions, startInferd } from "./start-inferd.js";

/**
 * Starts the production server with {@link startInferd} once for the enclosing
 * describe block (or file) and closes it after. The returned handle reads through
 * to the running server, so tests use it as they would the started one; reading it
 * before the start (outside tests and later hooks) throws.
 */
export function useInferd(options: StartInferdOptions = {}): RunningInferd {
  let running: RunningInferd | undefined;
  beforeAll(async () => {
    running = await startInferd(options);
  });
  afterAll(async () => {
    await running?.close();
  });
  const current = (): RunningInferd => {
    if (running === undefined) throw new Error("inferd is not started (yet)");
    return running;
  };
  return {
    get app() {
      return current().app;
    },
    get port() {
      return current().port;
    },
    get baseUrl() {
      return current().baseUrl;
    },
    get repo() {
      return current().repo;
    },
    close: () => current().close(),
  };
}
