import { getEventListeners } from "node:events";

/** A listener of {@link addAbortListener}: called once, after the signal has aborted. */
export type AbortListener = () => void;

const followersOf = new WeakMap<AbortSignal, AbortListener[]>();

/** A per-call signal and the one function that aborts it (see {@link createOwnedAbort}). */
export interface OwnedAbort {
  readonly signal: AbortSignal;
  /** Aborts the signal with `reason` (the first reason wins), then calls its followers. */
  abort(reason: unknown): void;
  /**
   * The call is over: aborts with `reason` as {@link abort} does if anything still listens
   * (a follower, or an "abort" listener on the signal itself), else leaves the signal as
   * it is. Why: aborting dispatches an Event, ~2 µs of a unary call's CPU with its
   * garbage, and at the end of a call that completed nothing listens any more. Code that
   * keeps the signal past the call and only polls `signal.aborted`, or a signal derived
   * from it with `AbortSignal.any`, does not see this end; a listener does.
   */
  end(reason: unknown): void;
}

/**
 * An AbortController whose signal's listeners, when added with {@link addAbortListener}, are
 * kept in a plain array beside it rather than on the signal's EventTarget. Why: a
 * fresh Node AbortSignal is a slow (dictionary-mode) object; each
 * addEventListener/removeEventListener pair on it costs ~0.5 µs and ~0.4 KB, and a
 * unary call adds and removes three (the body read, the observing interceptor, the
 * batcher). The signal is an ordinary AbortSignal: listeners added directly on it still
 * fire, first, as the abort event is dispatched; the followers run right after it, in
 * the order they were added, with `signal.aborted` and `signal.reason` already set.
 */
export function createOwnedAbort(): OwnedAbort {
  const controller = new AbortController();
  const signal = controller.signal;
  const followers: AbortListener[] = [];
  followersOf.set(signal, followers);
  const abort = (reason: unknown) => {
    if (signal.aborted) return;
    controller.abort(reason);
    if (followers.length === 0) return;
    // A follower that throws is reported as an abort listener's throw is, without
    // keeping the others from running.
    for (const follower of followers.splice(0)) {
      try {
        follower();
      } catch (error) {
        process.nextTick(() => {
          throw error;
        });
      }
    }
  };
  return {
    signal,
    abort,
    end(reason) {
      if (followers.length > 0 || getEventListeners(signal, "abort").length > 0) abort(reason);
    },
  };
}

/** Hoisted: an options object per call is garbage. */
const ONCE = { once: true } as const;

/**
 * Like `signal.addEventListener("abort", listener, { once: true })`, through the owner's
 * list when the signal comes from {@link createOwnedAbort}. As with the event, a
 * listener added to a signal that has already aborted is never called: check
 * `signal.aborted` first. Remove it with {@link removeAbortListener}.
 */
export function addAbortListener(signal: AbortSignal, listener: AbortListener): void {
  const followers = followersOf.get(signal);
  if (followers === undefined) signal.addEventListener("abort", listener, ONCE);
  else followers.push(listener);
}

/** Undoes {@link addAbortListener} (a no-op for a listener already called or never added). */
export function removeAbortListener(signal: AbortSignal, listener: AbortListener): void {
  const followers = followersOf.get(signal);
  if (followers === undefined) {
    signal.removeEventListener("abort", listener);
    return;
  }
  const index = followers.lastIndexOf(listener);
  // Listeners usually go in the reverse order they came: pop allocates no removed-items array.
  if (index === followers.length - 1) followers.pop();
  else if (index >= 0) followers.splice(index, 1);
}
