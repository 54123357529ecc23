/** Called with the signal's reason when it aborts. */
export type OnAbort = (reason: unknown) => void;

const followers = new WeakMap<AbortSignal, Set<OnAbort>>();

/**
 * Calls `onAbort` with the signal's reason when it aborts (at once if it has), and
 * returns the function that stops following. Meant for a long-lived signal that many
 * short waits follow (the server's shutdown or cut-off): they share one listener and a
 * set, where a listener each cost an EventTarget add and remove per call on the hot path.
 */
export function followAbort(signal: AbortSignal, onAbort: OnAbort): () => void {
  if (signal.aborted) {
    onAbort(signal.reason);
    return () => {};
  }
  let set = followers.get(signal);
  if (set === undefined) {
    const all = new Set<OnAbort>();
    signal.addEventListener("abort", () => {
      for (const each of all) each(signal.reason);
      all.clear();
    });
    followers.set(signal, all);
    set = all;
  }
  const mine = set;
  mine.add(onAbort);
  return () => {
    mine.delete(onAbort);
  };
}
