/**
 * Runs `release` exactly once: when `signal` aborts (at once if it already has), or
 * when the returned function is called, whichever comes first. The abort listener
 * is removed either way.
 *
 * Why: connect-node can leave a server-streaming handler's generator suspended at a
 * `yield` when the client goes away (or its deadline passes), never resumed nor
 * `return()`ed, so its `finally` never runs. Whatever that `finally` frees (a
 * subscription, a timer, a lease, a call counted in flight) must also be freed by
 * the abort itself. Call the returned function from the `finally` for every other
 * ending.
 */
export function releaseOnAbort(signal: AbortSignal, release: () => void): () => void {
  let released = false;
  const once = () => {
    if (released) return;
    released = true;
    signal.removeEventListener("abort", once);
    release();
  };
  if (signal.aborted) once();
  else signal.addEventListener("abort", once, { once: true });
  return once;
}
