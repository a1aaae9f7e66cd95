/**
 * Binary min-heaps with one pair of sift loops, ordered by one of three orders given at
 * construction (the item that comes first is on top): {@link BY_PRIORITY} (`priority`, lowest
 * first = runs first), {@link LOWEST_KEY} and {@link HIGHEST_KEY} (a number, `heapKey`; ties by
 * `serial`).
 *
 * - {@link PositionedHeap}: each item sits in at most one such heap and remembers its position
 *   (`heapIndex`), so it can be removed from the middle, or moved after its key changed, in
 *   O(log n). {@link IndexedHeap} is one by priority: a queued task that is cancelled leaves from
 *   the middle. The scheduler's load heaps of workers (scheduler/worker_loads.ts) are others, by
 *   the queued work per thread kept on the worker.
 * - {@link Heap}: items may sit in many heaps, possibly more than once; stale entries are skipped
 *   by the reader (lazy deletion). {@link PriorityQueue} is one by priority.
 *
 * The orders are a closed set compared inline ({@link comesBefore}), not a compare function: the
 * heaps of tasks and of workers share these loops in one process, and a call through a function
 * that differs per heap measured 1.5-1.9x slower there (a microbenchmark of 50,000 tasks pushed,
 * a fifth removed, all popped, and of 300,000 load changes of 1,000 workers).
 *
 * @module
 */

import {
  compareFlatPriority,
  comparePriority,
  type FlatPriority,
  type Priority,
} from "./priority.ts";

/**
 * Orders: by `priority` (lowest first), by `heapKey` lowest first, by `heapKey` highest first, by
 * a priority kept flat on the item (`priority0..2`, {@link FlatPriority}), lowest first.
 */
export const BY_PRIORITY = 0, LOWEST_KEY = 1, HIGHEST_KEY = 2, BY_FLAT_PRIORITY = 3;
export type Order =
  | typeof BY_PRIORITY
  | typeof LOWEST_KEY
  | typeof HIGHEST_KEY
  | typeof BY_FLAT_PRIORITY;

/** An item of a {@link PositionedHeap}: `heapIndex` is -1 when it is in no heap. */
export interface Positioned {
  heapIndex: number;
}

/**
 * An item of a heap by {@link LOWEST_KEY} or {@link HIGHEST_KEY}; of equal keys the lower `serial`
 * comes first, so which item is on top never depends on the order the items were filed in.
 */
export interface Keyed {
  heapKey: number;
  readonly serial: number;
}

/** An item of an {@link IndexedHeap}. */
export interface HeapItem extends Positioned {
  readonly priority: Priority;
}

/** Whether `a` comes before (is nearer the top than) `b` in `order`; strict, as `<`. */
export function comesBefore(order: Order, a: unknown, b: unknown): boolean {
  if (order === BY_PRIORITY) {
    return comparePriority((a as HeapItem).priority, (b as HeapItem).priority) < 0;
  }
  if (order === BY_FLAT_PRIORITY) {
    return compareFlatPriority(a as FlatPriority, b as FlatPriority) < 0;
  }
  const x = (a as Keyed).heapKey, y = (b as Keyed).heapKey;
  if (x === y) return (a as Keyed).serial < (b as Keyed).serial;
  return order === LOWEST_KEY ? x < y : x > y;
}

/**
 * A plain min-heap in `order`; the same item may be pushed many times and into many heaps. Its
 * items have a `priority` ({@link BY_PRIORITY}) or a `heapKey` (the other orders).
 */
export class Heap<T> {
  protected readonly items: T[] = [];
  /** Whether items learn their positions (`heapIndex`): set by {@link PositionedHeap}. */
  protected readonly positioned: boolean = false;

  constructor(readonly order: Order) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    siftUp(items, items.length - 1, this.order, this.positioned);
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    if (top === undefined) return undefined;
    const last = items.pop()!;
    if (last !== top) {
      items[0] = last;
      siftDown(items, 0, this.order, this.positioned);
    }
    if (this.positioned) (top as Positioned).heapIndex = -1;
    return top;
  }
}

/** A {@link Heap} by priority: lowest first. */
export class PriorityQueue<T extends { readonly priority: Priority }> extends Heap<T> {
  constructor() {
    super(BY_PRIORITY);
  }
}

/** A min-heap in `order` whose items know their positions (at most one such heap each). */
export class PositionedHeap<T extends Positioned> extends Heap<T> {
  protected override readonly positioned: boolean = true;

  /** Up to `limit` items in heap order (not priority order): a cheap sample. */
  *sample(limit: number): Generator<T> {
    const n = Math.min(limit, this.items.length);
    for (let i = 0; i < n; i++) yield this.items[i];
  }

  has(item: T): boolean {
    return item.heapIndex >= 0 && this.items[item.heapIndex] === item;
  }

  /** Moves `item` (in this heap) to its place after its key changed. */
  update(item: T): void {
    const items = this.items, order = this.order;
    siftUp(items, item.heapIndex, order, true);
    siftDown(items, item.heapIndex, order, true);
  }

  /** Removes `item` if it is in this heap. */
  remove(item: T): boolean {
    if (!this.has(item)) return false;
    const items = this.items;
    const index = item.heapIndex;
    const last = items.pop()!;
    if (last !== item) {
      items[index] = last;
      siftDown(items, index, this.order, true);
      siftUp(items, last.heapIndex, this.order, true);
    }
    item.heapIndex = -1;
    return true;
  }

  /** The items in heap order (not sorted); for inspection. */
  values(): readonly T[] {
    return this.items;
  }
}

/**
 * A {@link PositionedHeap} by priority: lowest first; `flat`: read from the items' flat priority
 * ({@link FlatPriority}, which they then have besides `priority`).
 */
export class IndexedHeap<T extends HeapItem> extends PositionedHeap<T> {
  constructor(flat = false) {
    super(flat ? BY_FLAT_PRIORITY : BY_PRIORITY);
  }
}

/**
 * The sift loops every heap shares. With `positioned`, every item moved learns its new position
 * (`heapIndex`, PositionedHeap); without, items are left untouched (Heap, whose items may sit in
 * several heaps).
 */
function siftUp<T>(items: T[], index: number, order: Order, positioned: boolean): void {
  const item = items[index];
  while (index > 0) {
    const parentIndex = (index - 1) >> 1;
    const parent = items[parentIndex];
    if (!comesBefore(order, item, parent)) break;
    items[index] = parent;
    if (positioned) (parent as Positioned).heapIndex = index;
    index = parentIndex;
  }
  items[index] = item;
  if (positioned) (item as Positioned).heapIndex = index;
}

function siftDown<T>(items: T[], index: number, order: Order, positioned: boolean): void {
  const n = items.length;
  const item = items[index];
  for (;;) {
    const left = 2 * index + 1;
    if (left >= n) break;
    const right = left + 1;
    const child = right < n && comesBefore(order, items[right], items[left]) ? right : left;
    const moved = items[child];
    if (!comesBefore(order, moved, item)) break;
    items[index] = moved;
    if (positioned) (moved as Positioned).heapIndex = index;
    index = child;
  }
  items[index] = item;
  if (positioned) (item as Positioned).heapIndex = index;
}
