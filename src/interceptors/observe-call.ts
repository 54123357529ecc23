import type { Interceptor, StreamRequest, UnaryRequest } from "@connectrpc/connect";
import { addAbortListener, removeAbortListener } from "../abort/owned-abort.js";
import { type CallFields, fieldsOfMessage, mergeMissing } from "../observed-call/call-fields.js";
import { markObserved } from "../observed-call/observed-requests.js";
import { peerOf } from "../observed-call/peer-context.js";
import { abortCodeOf, rpcCodeOf } from "../observed-call/rpc-code.js";
import { type RpcLabels, rpcLabelsOf } from "../observed-call/rpc-labels.js";

/** How a call ended, as observed by {@link createObservingInterceptor}. */
export interface CallEnd {
  /** "ok" or the snake_case code of the error. */
  readonly code: string;
  /** The error, when the call failed. */
  readonly error?: unknown;
  readonly durationMs: number;
  /** From the request message(s), then the response message(s) for what is missing. */
  readonly fields: CallFields;
}

/**
 * What every hook of one call shares, read from the request once per call rather than
 * once per hook (a web `Headers.get` validates and lowercases its name each time).
 */
export interface CallStart {
  /** From the method and the `content-type` header. */
  readonly labels: RpcLabels;
  /** From `x-forwarded-for` and the socket address (see `peerOf`). */
  readonly peer: string;
  /**
   * Claims the call for the interceptors (see `markObserved`): false when the transport
   * recorded it already. Asked of the request once, whatever the number of hooks.
   */
  claim(): boolean;
}

/**
 * Called when a call starts; returns the function called exactly once when it ends,
 * or undefined to leave this call unobserved (at no further cost).
 */
export type CallHook = (
  req: UnaryRequest | StreamRequest,
  start: CallStart,
) => ((end: CallEnd) => void) | undefined;

/** One per call: the request's shared reads, the claim asked at most once. */
class ObservedCallStart implements CallStart {
  readonly labels: RpcLabels;
  readonly peer: string;
  #claimed: boolean | undefined;
  constructor(private readonly req: UnaryRequest | StreamRequest) {
    this.labels = rpcLabelsOf(req);
    this.peer = peerOf(req);
  }
  claim(): boolean {
    this.#claimed ??= markObserved(this.req);
    return this.#claimed;
  }
}

/**
 * A server-side interceptor that reports each call's start and end to every hook, in
 * order. A call ends when the unary handler settles, when a response stream
 * completes, throws or is abandoned by its consumer ("canceled"), or when the call's
 * signal aborts, whichever comes first. Messages pass through unchanged. One
 * interceptor for several hooks (tracing, metrics, access log) times the call, reads
 * its fields and listens to its signal once, not once per hook.
 */
export function createObservingInterceptor(...hooks: readonly CallHook[]): Interceptor {
  return (next) => async (req) => {
    const startedAt = performance.now();
    const onEnd = startHooks(hooks, req);
    if (onEnd === undefined) return next(req);
    const fields: CallFields = req.stream ? {} : fieldsOfMessage(req.message);
    let ended = false;
    const end = (code: string, error?: unknown) => {
      if (ended) return;
      ended = true;
      removeAbortListener(req.signal, onAbort);
      const durationMs = performance.now() - startedAt;
      onEnd(
        error === undefined ? { code, durationMs, fields } : { code, error, durationMs, fields },
      );
    };
    const onAbort = () => end(abortCodeOf(req.signal.reason), req.signal.reason);
    addAbortListener(req.signal, onAbort);
    const see = (message: unknown) => mergeMissing(fields, fieldsOfMessage(message));
    try {
      const res = await next(req.stream ? { ...req, message: tap(req.message, see) } : req);
      if (!res.stream) {
        see(res.message);
        end("ok");
        return res;
      }
      return { ...res, message: watch(res.message, see, end) };
    } catch (error) {
      end(rpcCodeOf(error), error);
      throw error;
    }
  };
}

/** Starts every hook; the one function that ends those that observe, or undefined. */
function startHooks(
  hooks: readonly CallHook[],
  req: UnaryRequest | StreamRequest,
): ((end: CallEnd) => void) | undefined {
  const start = new ObservedCallStart(req);
  const ends: ((end: CallEnd) => void)[] = [];
  for (const hook of hooks) {
    const end = hook(req, start);
    if (end !== undefined) ends.push(end);
  }
  if (ends.length <= 1) return ends[0];
  return (end) => {
    for (const onEnd of ends) onEnd(end);
  };
}

/** Passes messages through, showing each to `see`. */
async function* tap<T>(source: AsyncIterable<T>, see: (message: T) => void): AsyncIterable<T> {
  for await (const message of source) {
    see(message);
    yield message;
  }
}

/** Like {@link tap}, and reports how the stream ended. */
async function* watch<T>(
  source: AsyncIterable<T>,
  see: (message: T) => void,
  end: (code: string, error?: unknown) => void,
): AsyncIterable<T> {
  let code = "canceled";
  try {
    for await (const message of source) {
      see(message);
      yield message;
    }
    code = "ok";
  } catch (error) {
    end(rpcCodeOf(error), error);
    throw error;
  } finally {
    // Reached without "ok" and without an error when the consumer stopped early.
    end(code);
  }
}
