/**
 * A single-consumer push queue read with `for await`: the producer (worker
 * messages) never waits, the consumer waits for the next item. `end` finishes the
 * iteration after the items already queued; `fail` throws after them.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;
  private done = false;
  private error: unknown;
  private failed = false;

  /** Items pushed and not yet taken by the consumer. */
  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    this.items.push(item);
    this.notify();
  }

  end(): void {
    this.done = true;
    this.notify();
  }

  /** Drops what is queued and fails: the consumer's next read throws `error`. */
  abandon(error: unknown): void {
    this.items.length = 0;
    this.fail(error);
  }

  fail(error: unknown): void {
    this.failed = true;
    this.error = error;
    this.end();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.done) {
        if (this.failed) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Like the iterator, but yields everything queued at once (never an empty array). */
  async *batches(): AsyncIterable<T[]> {
    for (;;) {
      if (this.items.length > 0) {
        yield this.items.splice(0, this.items.length);
        continue;
      }
      if (this.done) {
        if (this.failed) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
