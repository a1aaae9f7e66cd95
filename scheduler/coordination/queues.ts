/**
 * Queues (Dask's `distributed.Queue`): named FIFO queues held by the scheduler. An item is an
 * encoded value whose Futures travel as references; the keys of the items in a queue are held by
 * the queue (under the pseudo-client `queue-<name>`, counted per key so two items sharing a key
 * keep it), and handed to the client that gets the item. A queue may be bounded (`maxsize`, set by
 * the first client that declares it, as in Dask): a put then waits for room. Pure bookkeeping:
 * the request layer holds and releases keys and times waiters out.
 *
 * @module
 */

import type { Key } from "../../core/task.ts";
import type { Encoded } from "../../core/value_codec.ts";
import { Waiters } from "./waiters.ts";

/** One item of a queue. */
export interface QueueItem {
  value: Encoded;
  keys: Key[];
}

/** The pseudo-client id under which the keys of a queue's items are held. */
export function queueHolder(name: string): string {
  return `queue-${name}`;
}

export class Queues {
  readonly #items = new Map<string, QueueItem[]>();
  readonly #keyCounts = new Map<string, Map<Key, number>>();
  readonly #waiters = new Waiters<QueueItem>();
  readonly #maxsize = new Map<string, number>();
  /** Puts waiting for room in a full queue. */
  readonly #roomWaiters = new Waiters<void>();

  size(name: string): number {
    return this.#items.get(name)?.length ?? 0;
  }

  /** Bounds the queue to `maxsize` items (0: unbounded); the first declaration stays. */
  declare(name: string, maxsize: number): void {
    if (maxsize > 0 && !this.#maxsize.has(name)) this.#maxsize.set(name, maxsize);
  }

  /** The queue's bound, 0 when unbounded. */
  maxsize(name: string): number {
    return this.#maxsize.get(name) ?? 0;
  }

  /** True when a put must wait for room. */
  full(name: string): boolean {
    const max = this.#maxsize.get(name);
    return max !== undefined && this.size(name) >= max;
  }

  /** Calls `wake` when an item leaves the queue; returns a function that stops waiting. */
  whenRoom(name: string, wake: () => boolean): () => void {
    return this.#roomWaiters.add(name, wake);
  }

  /**
   * Adds an item: straight to the oldest waiting `get` if there is one. Gives the keys the queue
   * must start holding (those not held for another item already).
   */
  put(name: string, item: QueueItem): { handed: boolean; newKeys: Key[] } {
    if (this.#waiters.wakeOne(name, item)) return { handed: true, newKeys: [] };
    let items = this.#items.get(name);
    if (items === undefined) this.#items.set(name, items = []);
    items.push(item);
    let counts = this.#keyCounts.get(name);
    if (counts === undefined) this.#keyCounts.set(name, counts = new Map());
    const newKeys: Key[] = [];
    for (const key of item.keys) {
      const n = counts.get(key) ?? 0;
      if (n === 0) newKeys.push(key);
      counts.set(key, n + 1);
    }
    return { handed: false, newKeys };
  }

  /**
   * Takes up to `n` items (oldest first). Gives them with the keys the queue no longer holds
   * for any item (to release once the getter holds them).
   */
  take(name: string, n: number): { items: QueueItem[]; freedKeys: Key[] } {
    const items = this.#items.get(name);
    if (items === undefined || items.length === 0) return { items: [], freedKeys: [] };
    const taken = items.splice(0, n);
    if (items.length === 0) this.#items.delete(name);
    const counts = this.#keyCounts.get(name);
    const freedKeys: Key[] = [];
    if (counts === undefined) return { items: taken, freedKeys }; // no item held a key
    for (const item of taken) {
      for (const key of item.keys) {
        const left = (counts.get(key) ?? 1) - 1;
        if (left > 0) counts.set(key, left);
        else {
          counts.delete(key);
          freedKeys.push(key);
        }
      }
    }
    if (counts.size === 0) this.#keyCounts.delete(name);
    return { items: taken, freedKeys };
  }

  /**
   * `n` items left (call after the keys they freed are released): as many waiting puts go
   * ahead.
   */
  makeRoom(name: string, n: number): void {
    for (let i = 0; i < n && this.#roomWaiters.wakeOne(name, undefined); i++);
  }

  /** Calls `wake` with the next item put while the queue is empty. */
  whenPut(name: string, wake: (item: QueueItem) => boolean): () => void {
    return this.#waiters.add(name, wake);
  }
}
