import { setMaxListeners } from "node:events";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { raceAbort, raceSharedAbort } from "../abort/race-abort.js";
import { releaseOnAbort } from "../connect-adapter/release-on-abort.js";

/** Options of `createDrainController`. */
export interface DrainControllerOptions {
  /**
   * Services ("grpc.health.v1.Health") or methods ("inferd.v1.ModelService/WatchModels")
   * never refused nor waited for: health must keep answering NOT_SERVING during the
   * drain, and watch streams, which never end by themselves, would otherwise hold
   * shutdown for the whole grace period. They end at the cut-off, with Unavailable.
   */
  exempt?: readonly string[];
}

/**
 * Graceful shutdown for RPCs. Its interceptor counts calls in flight (a stream
 * until its last response message) and, once draining, refuses new ones with
 * Unavailable. `drain` waits for the calls in flight up to a grace period, then
 * cuts off the rest with Unavailable.
 */
export interface DrainController {
  readonly interceptor: Interceptor;
  /** Aborted when the drain starts: readiness and health turn negative at once. */
  readonly shutdownSignal: AbortSignal;
  /** Aborted when the grace period elapses; pass to Connect so handler signals abort too. */
  readonly cutoffSignal: AbortSignal;
  readonly inFlight: number;
  /**
   * Counts work outside Connect (an HTTP streaming response) like a call in flight:
   * returns its `leave` function, or undefined once draining (refuse the request).
   * Such work must also stop when `cutoffSignal` aborts.
   */
  enter(): (() => void) | undefined;
  /** Resolves when no tracked call is in flight, or after the grace period and cut-off. */
  drain(gracePeriodMs: number): Promise<void>;
}

/** How long cut-off calls get to unwind before `drain` resolves regardless. */
const CUTOFF_SETTLE_MS = 1000;

/** The server's drain: an interceptor that refuses new calls once shutdown starts and tracks the calls in flight, `drain(graceMs)` to wait for them, and the cut-off that aborts what is left. */
export function createDrainController(options: DrainControllerOptions = {}): DrainController {
  const exempt = new Set(options.exempt ?? []);
  const shutdown = new AbortController();
  const cutoff = new AbortController();
  // Connect links every call's signal to the cut-off: one listener per call in flight.
  setMaxListeners(0, cutoff.signal);
  let inFlight = 0;
  let onIdle: (() => void) | undefined;
  const leave = () => {
    inFlight--;
    if (inFlight === 0) onIdle?.();
  };
  const idleOrAfter = (ms: number) =>
    new Promise<void>((resolve) => {
      if (inFlight === 0) return resolve();
      const timer = setTimeout(resolve, ms);
      onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  // Whether a method is tracked, decided once per method rather than with two lookups
  // and a string built per call.
  const trackedByMethod = new WeakMap<DescMethod, boolean>();
  const isTracked = ({ service, method }: { service: DescService; method: DescMethod }) => {
    let tracked = trackedByMethod.get(method);
    if (tracked === undefined) {
      const name = service.typeName;
      tracked = !exempt.has(name) && !exempt.has(`${name}/${method.name}`);
      trackedByMethod.set(method, tracked);
    }
    return tracked;
  };
  // Not an async function: a unary call (the hot path) costs one race and one `then`,
  // with no closure of its own; a stream is handed to `guardStream`, which leaves.
  const interceptor: Interceptor = (next) => (req) => {
    const tracked = isTracked(req);
    if (tracked && shutdown.signal.aborted) {
      return Promise.reject(new ConnectError("server is shutting down", Code.Unavailable));
    }
    if (tracked) inFlight++;
    let raced: ReturnType<typeof next>;
    try {
      raced = raceSharedAbort(next(req), cutoff.signal);
    } catch (error) {
      if (tracked) leave();
      return Promise.reject(error);
    }
    return raced.then(
      (res) => {
        if (!res.stream) {
          if (tracked) leave();
          return res;
        }
        let left = !tracked;
        const done = () => {
          if (left) return;
          left = true;
          leave();
        };
        // A stream whose client left or whose deadline passed ends here: Connect may leave
        // the response generator suspended at a yield, never resumed nor returned.
        const release = releaseOnAbort(req.signal, done);
        return { ...res, message: guardStream(res.message, cutoff.signal, release) };
      },
      (error: unknown) => {
        if (tracked) leave();
        throw error;
      },
    );
  };
  return {
    interceptor,
    shutdownSignal: shutdown.signal,
    cutoffSignal: cutoff.signal,
    get inFlight() {
      return inFlight;
    },
    enter() {
      if (shutdown.signal.aborted) return undefined;
      inFlight++;
      let left = false;
      return () => {
        if (left) return;
        left = true;
        leave();
      };
    },
    async drain(gracePeriodMs) {
      shutdown.abort();
      await idleOrAfter(gracePeriodMs);
      const stragglers = inFlight > 0;
      // Always cut off: exempt streams (health Watch) end here, with Unavailable.
      const reason = stragglers
        ? `server is shutting down: the grace period of ${gracePeriodMs} ms elapsed`
        : "server is shutting down";
      cutoff.abort(new ConnectError(reason, Code.Unavailable));
      if (stragglers) await idleOrAfter(CUTOFF_SETTLE_MS);
    },
  };
}

/** Passes a response stream through, ending it with the cut-off's error; calls `done` once. */
async function* guardStream<T>(
  source: AsyncIterable<T>,
  cutoff: AbortSignal,
  done: () => void,
): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const step = await raceAbort(it.next(), cutoff);
      if (step.done) return;
      yield step.value;
    }
  } finally {
    done();
    // After a cut-off the source may be stuck in next(); ask it to stop but do not wait.
    const stopping = it.return?.();
    if (cutoff.aborted) stopping?.catch(() => {});
    else await stopping;
  }
}
