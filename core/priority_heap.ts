/**
 * Binary min-heaps ordered by {@link Priority} (lowest first = runs first).
 *
 * - {@link IndexedHeap}: each item sits in at most one heap and remembers its position, so it can
 *   be removed from the middle in O(log n) (a queued task that is cancelled).
 * - {@link PriorityQueue}: items may sit in many queues, possibly more than once; stale entries
 *   are skipped by the reader (lazy deletion).
 *
 * @module
 */

import { comparePriority, type Priority } from "./priority.ts";

/** An item of an {@link IndexedHeap}: `heapIndex` is -1 when it is in no heap. */
export interface HeapItem {
  readonly priority: Priority;
  heapIndex: number;
}

export class IndexedHeap<T extends HeapItem> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  /** Up to `limit` items in heap order (not priority order): a cheap sample. */
  *sample(limit: number): Generator<T> {
    const n = Math.min(limit, this.#items.length);
    for (let i = 0; i < n; i++) yield this.#items[i];
  }

  has(item: T): boolean {
    return item.heapIndex >= 0 && this.#items[item.heapIndex] === item;
  }

  push(item: T): void {
    const items = this.#items;
    item.heapIndex = items.length;
    items.push(item);
    this.#up(item.heapIndex);
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    if (top === undefined) return undefined;
    const last = items.pop()!;
    if (last !== top) {
      items[0] = last;
      last.heapIndex = 0;
      this.#down(0);
    }
    top.heapIndex = -1;
    return top;
  }

  /** Removes `item` if it is in this heap. */
  remove(item: T): boolean {
    if (!this.has(item)) return false;
    const items = this.#items;
    const index = item.heapIndex;
    const last = items.pop()!;
    if (last !== item) {
      items[index] = last;
      last.heapIndex = index;
      this.#down(index);
      this.#up(last.heapIndex);
    }
    item.heapIndex = -1;
    return true;
  }

  /** The items in heap order (not sorted); for inspection. */
  values(): readonly T[] {
    return this.#items;
  }

  #up(index: number): void {
    const items = this.#items;
    const item = items[index];
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex];
      if (comparePriority(item.priority, parent.priority) >= 0) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = item;
    item.heapIndex = index;
  }

  #down(index: number): void {
    const items = this.#items;
    const n = items.length;
    const item = items[index];
    for (;;) {
      const left = 2 * index + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && comparePriority(items[right].priority, items[left].priority) < 0
        ? right
        : left;
      if (comparePriority(items[child].priority, item.priority) >= 0) break;
      items[index] = items[child];
      items[index].heapIndex = index;
      index = child;
    }
    items[index] = item;
    item.heapIndex = index;
  }
}

/** A plain priority queue; the same item may be pushed many times and into many queues. */
export class PriorityQueue<T extends { readonly priority: Priority }> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const items = this.#items;
    let index = items.length;
    items.push(item);
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      if (comparePriority(item.priority, items[parentIndex].priority) >= 0) break;
      items[index] = items[parentIndex];
      index = parentIndex;
    }
    items[index] = item;
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    if (top === undefined) return undefined;
    const last = items.pop()!;
    if (last === top) return top;
    const n = items.length;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && comparePriority(items[right].priority, items[left].priority) < 0
        ? right
        : left;
      if (comparePriority(items[child].priority, last.priority) >= 0) break;
      items[index] = items[child];
      index = child;
    }
    items[index] = last;
    return top;
  }
}
