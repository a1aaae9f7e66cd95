/**
 * The worker's data store: each key's value as it was encoded (by the thread that computed it,
 * or by the peer or client that sent it), with its size and type. Values stay encoded: they go to
 * threads, peers and clients as they are, and nobody decodes them here.
 *
 * Entries are kept least recently used first, which is the order in which a memory-bounded
 * worker would move them to disk. Spilling slots in here: `set` is where the bytes in memory can
 * pass a target and the front of {@link DataStore.leastRecentlyUsed} go to disk, and `get` is
 * the one read path that would bring a spilled value back. Until then everything stays in memory.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type { Encoded } from "../core/value_codec.ts";

/** One stored value. `nbytes` is its size in memory once decoded (what the scheduler books). */
export interface StoredValue {
  encoded: Encoded;
  nbytes: number;
  typeName: string;
}

export class DataStore {
  /** Map order is use order: least recently used first. */
  readonly #values = new Map<Key, StoredValue>();
  #nbytes = 0;

  /** Number of keys held. */
  get size(): number {
    return this.#values.size;
  }

  /** Sum of the `nbytes` of the values held. */
  get nbytes(): number {
    return this.#nbytes;
  }

  has(key: Key): boolean {
    return this.#values.has(key);
  }

  /** The value of `key`, marking it as most recently used. */
  get(key: Key): StoredValue | undefined {
    const value = this.#values.get(key);
    if (value !== undefined) {
      this.#values.delete(key);
      this.#values.set(key, value);
    }
    return value;
  }

  /** Stores `value` under `key` (replacing any older copy), as most recently used. */
  set(key: Key, value: StoredValue): void {
    const old = this.#values.get(key);
    if (old !== undefined) {
      this.#nbytes -= sizeOf(old);
      this.#values.delete(key);
    }
    this.#values.set(key, value);
    this.#nbytes += sizeOf(value);
  }

  /** Drops `key`; false when it was not held. */
  delete(key: Key): boolean {
    const old = this.#values.get(key);
    if (old === undefined) return false;
    this.#values.delete(key);
    this.#nbytes -= sizeOf(old);
    return true;
  }

  /** Every key with its size and type (what a worker reports when it registers again). */
  describe(): { key: Key; nbytes: number; typeName: string }[] {
    const out: { key: Key; nbytes: number; typeName: string }[] = [];
    for (const [key, value] of this.#values) {
      out.push({ key, nbytes: value.nbytes, typeName: value.typeName });
    }
    return out;
  }

  /** Entries from least to most recently used (the order to spill in). */
  leastRecentlyUsed(): IterableIterator<[Key, StoredValue]> {
    return this.#values.entries();
  }

  clear(): void {
    this.#values.clear();
    this.#nbytes = 0;
  }
}

function sizeOf(value: StoredValue): number {
  return value.nbytes > 0 ? value.nbytes : 0;
}
