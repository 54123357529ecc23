/** What orders an entry: higher priority first, then lower sequence number (arrival). */
export interface Prioritized {
  readonly priority: number;
  readonly seq: number;
}

/**
 * The batcher's waiting line, kept in leaving order: descending priority, arrival
 * order within a priority. A sorted array: inserts are a binary search plus a
 * splice, which beats a heap at queue sizes a server admits, and the planner needs
 * ordered iteration anyway.
 */
export class PriorityQueue<T extends Prioritized> {
  readonly #items: T[] = [];

  get length(): number {
    return this.#items.length;
  }

  /** The entries in leaving order; a live view, do not mutate. */
  get items(): readonly T[] {
    return this.#items;
  }

  push(item: T): void {
    let lo = 0;
    let hi = this.#items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = this.#items[mid];
      if (other !== undefined && leavesBefore(other, item)) lo = mid + 1;
      else hi = mid;
    }
    this.#items.splice(lo, 0, item);
  }

  /** Removes one entry; false when it was not queued. */
  remove(item: T): boolean {
    const index = this.#items.indexOf(item);
    if (index < 0) return false;
    this.#items.splice(index, 1);
    return true;
  }

  /** Removes and returns every entry matching `predicate`. */
  removeWhere(predicate: (item: T) => boolean): T[] {
    const removed: T[] = [];
    for (let i = this.#items.length - 1; i >= 0; i--) {
      const item = this.#items[i];
      if (item !== undefined && predicate(item)) {
        this.#items.splice(i, 1);
        removed.unshift(item);
      }
    }
    return removed;
  }
}

function leavesBefore(a: Prioritized, b: Prioritized): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
}
