/**
 * A list reused from call to call, emptied without giving up its storage. V8 frees an array's
 * storage when its `length` is set to 0 (once it had room for 16 or more: a `push` onto an empty
 * array makes room for 17), so a list emptied that way and filled again allocated ~150 bytes at
 * every use: the scheduler's pending recommendations and ready tasks once per event, placement's
 * candidates once per decision (~300 B per task of `bench/simulate.ts`'s chains). The first
 * `size` slots are the members; `clear` blanks them so no member is kept alive, and drops storage
 * for more than {@link KEPT} members (a graph's intake recommends every task once: that much room
 * kept would be 8 bytes per task of the largest graph seen).
 *
 * @module
 */

/** Lists up to this long are sorted in place by insertion; `Array.sort` copies into a work area. */
const INSERTION_SORTED = 16;
/** Room kept by `clear`, in members. */
const KEPT = 4096;

export class ScratchList<T> {
  #items: (T | undefined)[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The member at `index` (0 ≤ index < size). */
  at(index: number): T {
    return this.#items[index] as T;
  }

  push(item: T): void {
    this.#items[this.#size++] = item;
  }

  /** Replaces the member at `index` (0 ≤ index < size). */
  set(index: number, item: T): void {
    this.#items[index] = item;
  }

  /** The members in an array of their exact length. */
  toArray(): T[] {
    return this.#items.slice(0, this.#size) as T[];
  }

  /** Keeps the first `size` members (≤ the size now). */
  truncate(size: number): void {
    this.#items.fill(undefined, size, this.#size);
    this.#size = size;
  }

  clear(): void {
    if (this.#items.length > KEPT) {
      this.#items = [];
      this.#size = 0;
    } else this.truncate(0);
  }

  /** Sorts the members by `compare`: a few in place by insertion, more on a copy. */
  sort(compare: (a: T, b: T) => number): void {
    const items = this.#items, size = this.#size;
    if (size > INSERTION_SORTED) {
      const sorted = (items.slice(0, size) as T[]).sort(compare);
      for (let i = 0; i < size; i++) items[i] = sorted[i];
      return;
    }
    for (let i = 1; i < size; i++) {
      const item = items[i] as T;
      let j = i - 1;
      for (; j >= 0 && compare(items[j] as T, item) > 0; j--) items[j + 1] = items[j];
      items[j + 1] = item;
    }
  }
}
