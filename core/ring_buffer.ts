/**
 * A bounded log: keeps the newest `capacity` entries, numbers every entry ever pushed so a reader
 * can poll for what is new since its last look.
 *
 * @module
 */

export class RingBuffer<T> {
  readonly #items: (T | undefined)[];
  #next = 0;
  #total = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`RingBuffer capacity must be a positive integer, got ${capacity}.`);
    }
    this.#items = new Array(capacity);
  }

  /** Entries held now (at most `capacity`). */
  get size(): number {
    return Math.min(this.#total, this.capacity);
  }

  /** Entries ever pushed; the sequence number of the next entry. */
  get total(): number {
    return this.#total;
  }

  push(item: T): void {
    this.#items[this.#next] = item;
    this.#next = this.#next + 1 === this.capacity ? 0 : this.#next + 1;
    this.#total++;
  }

  /**
   * Entries with sequence number `>= since`, oldest first (entries that fell out of the buffer are
   * skipped). `since(0)` gives everything held.
   */
  since(since: number): T[] {
    const first = Math.max(since, this.#total - this.size);
    const out: T[] = [];
    for (let seq = first; seq < this.#total; seq++) {
      out.push(this.#items[seq % this.capacity] as T);
    }
    return out;
  }

  /** Everything held, oldest first. */
  toArray(): T[] {
    return this.since(0);
  }
}
