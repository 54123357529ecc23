/**
 * Waiting items grouped by client and taken round-robin across clients, first in first
 * out within one client. Why: with one arrival-order queue, a client that queued 256
 * sequences made every other client's request wait behind all of them; here a
 * newcomer's request is taken within one round of the clients waiting, whatever any
 * one of them queued.
 */
export class FairQueue<T> {
  /** Clients in turn order: the head is served next; a served client moves to the back. */
  private readonly turns = new Map<string, T[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Queues `item` last among `client`'s; a client new to the queue takes the last turn. */
  push(client: string, item: T): void {
    this.queueOf(client).push(item);
    this.count++;
  }

  /** Puts `item` first among `client`'s (a preempted sequence resuming keeps its place). */
  unshift(client: string, item: T): void {
    this.queueOf(client).unshift(item);
    this.count++;
  }

  /** Takes up to `n` items, one per client per round, in turn order. */
  take(n: number): T[] {
    const taken: T[] = [];
    while (taken.length < n && this.count > 0) {
      const [client, items] = this.turns.entries().next().value as [string, T[]];
      const item = items.shift() as T;
      this.count--;
      taken.push(item);
      // Back of the line: re-inserting a Map key moves it to the end of the iteration order.
      this.turns.delete(client);
      if (items.length > 0) this.turns.set(client, items);
    }
    return taken;
  }

  /** Removes and returns every item `matches` picks, keeping the others' order. */
  remove(matches: (item: T) => boolean): T[] {
    const removed: T[] = [];
    for (const [client, items] of this.turns) {
      const kept: T[] = [];
      for (const item of items) (matches(item) ? removed : kept).push(item);
      if (kept.length === 0) this.turns.delete(client);
      else this.turns.set(client, kept);
    }
    this.count -= removed.length;
    return removed;
  }

  /** Every waiting item, in no particular order. */
  *values(): IterableIterator<T> {
    for (const items of this.turns.values()) yield* items;
  }

  private queueOf(client: string): T[] {
    let items = this.turns.get(client);
    if (items === undefined) {
      items = [];
      this.turns.set(client, items);
    }
    return items;
  }
}
