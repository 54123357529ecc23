/**
 * Maps an async source through `fn` with up to `concurrency` calls in flight,
 * yielding results in source order. It keeps reading the source while earlier
 * results are pending, so that concurrent items can share a batch. `fn` should not
 * reject (a rejection ends the iteration with that error).
 */
export async function* mapOrdered<T, R>(
  source: AsyncIterable<T>,
  fn: (item: T) => Promise<R>,
  concurrency: number,
): AsyncGenerator<R> {
  const iterator = source[Symbol.asyncIterator]();
  const pending: Promise<R>[] = [];
  let next: Promise<IteratorResult<T>> | undefined;
  let done = false;
  try {
    while (!done || pending.length > 0) {
      const head = pending[0];
      if (!done && pending.length < concurrency) {
        next ??= iterator.next();
        // Wait for whichever comes first: the next item, or the oldest result.
        const winner =
          head === undefined ? await next : await Promise.race([next, head.then(() => undefined)]);
        if (winner !== undefined) {
          next = undefined;
          if (winner.done) done = true;
          else pending.push(fn(winner.value));
          continue;
        }
      }
      if (head === undefined) continue;
      pending.shift();
      yield await head;
    }
  } finally {
    // Not awaited: with a read outstanding, return() would wait for it.
    if (!done) void iterator.return?.()?.catch(() => undefined);
  }
}
